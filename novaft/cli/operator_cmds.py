"""``novaft submit / status / runs / cancel / report``: drive a deployed pipeline (or the local emulated one).

AWS settings are boto3's own (environment, profile, ``AWS_ENDPOINT_URL``); the pipeline is found from the outputs
of the ``Novaft-<stage>-Pipeline`` stack. Every botocore failure ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from novaft.aws.clients import AwsSession
from novaft.aws.errors import aws_errors_as_usage
from novaft.cli.validate_cmd import format_text_report
from novaft.errors import InputFileError
from novaft.local.session import DEFAULT_TRAINING_SECONDS, local_up
from novaft.operator.discovery import resolve_stack_name
from novaft.operator.errors import WaitTimedOut
from novaft.operator.follow import DEFAULT_POLL_SECONDS, follow_run, wait_for
from novaft.operator.pipeline import PipelineOperator
from novaft.operator.runs import RunStatus, RunView
from novaft.operator.submit import check_locally, job_spec_for_submit, plan_uploads, run_name_for
from novaft.operator.text import (
    format_duplicate_submission,
    format_progress_line,
    format_report,
    format_runs_table,
    format_status,
)
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import DEFAULT_STAGE, STAGE_ENV, ExitCode
from novaft.report.progress import format_progress

DEFAULT_RUNS_LIMIT = 20
DEFAULT_APPEAR_TIMEOUT_SECONDS = 300.0
REGISTRATION_POLL_SECONDS = 1.0
DEFAULT_CANCEL_WAIT_SECONDS = 60.0

# Time sources, replaceable in tests so no test waits on a real clock.
sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.monotonic


def now() -> datetime:
    return datetime.now(UTC)


# --- arguments ---------------------------------------------------------------------------------------------------


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0 seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _deployment_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("deployment")
    group.add_argument(
        "--stage",
        help=f"deployment stage (default: ${STAGE_ENV}, else {DEFAULT_STAGE!r}, else the only pipeline stack)",
    )
    group.add_argument("--stack", help="pipeline stack name (default: Novaft-<stage>-Pipeline)")
    group.add_argument("--region", help="AWS region (default: the standard AWS settings)")
    group.add_argument("--profile", help="AWS profile (default: the standard AWS settings)")
    return options


def _wait_options(parser: argparse.ArgumentParser, *, wait_help: str) -> None:
    parser.add_argument("--wait", action="store_true", help=wait_help)
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=DEFAULT_POLL_SECONDS,
        metavar="SECONDS",
        help=f"seconds between polls while waiting (default {DEFAULT_POLL_SECONDS:g})",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="give up waiting after this many seconds (exit 2; the run keeps going); default: no limit",
    )


def _run_command(
    subparsers: Any,
    deployment: argparse.ArgumentParser,
    name: str,
    *,
    summary: str,
    description: str | None = None,
    run_help: str = "run id or run name",
) -> argparse.ArgumentParser:
    """A subcommand about one run: the deployment options, then the RUN argument."""
    command: argparse.ArgumentParser = subparsers.add_parser(
        name, parents=[deployment], help=summary, description=description
    )
    command.add_argument("run", metavar="RUN", help=run_help)
    return command


def register(subparsers: Any) -> None:
    deployment = _deployment_options()

    submit = subparsers.add_parser(
        "submit",
        parents=[deployment],
        help="validate locally, then upload a dataset to start a run",
        description="Validate DATA.jsonl (and the validation set and job spec) locally, then upload them to "
        "incoming/<run>/ in the datasets bucket; writing train.jsonl last starts the run.",
    )
    submit.add_argument("data", metavar="DATA.jsonl", help="training data (Converse JSONL)")
    submit.add_argument("--validation", metavar="V.jsonl", help="validation data (Converse JSONL)")
    submit.add_argument("--job", metavar="job.yaml", help="job spec (model, method, hyperparameters, instances)")
    submit.add_argument("--run", metavar="NAME", help="run name (default: the data file's name, sanitized)")
    _wait_options(submit, wait_help="follow the run until it ends, printing each state change")
    submit.set_defaults(handler=run_submit)

    status = _run_command(
        subparsers,
        deployment,
        "status",
        summary="show a run's workflow state, training status and elapsed time",
        run_help="run id or run name (the latest run of that name)",
    )
    _wait_options(status, wait_help="follow the run until it ends, printing each state change")
    status.set_defaults(handler=run_status)

    runs = subparsers.add_parser("runs", parents=[deployment], help="list recent runs, newest first")
    runs.add_argument("--limit", type=_positive_int, default=DEFAULT_RUNS_LIMIT, help="how many runs (default 20)")
    runs.set_defaults(handler=run_runs)

    cancel = _run_command(subparsers, deployment, "cancel", summary="stop a run's training job and workflow execution")
    cancel.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_CANCEL_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for the run to be recorded as Stopped (default {DEFAULT_CANCEL_WAIT_SECONDS:g})",
    )
    cancel.add_argument("--interval", type=_positive_seconds, default=2.0, metavar="SECONDS", help=argparse.SUPPRESS)
    cancel.set_defaults(handler=run_cancel)

    report = _run_command(subparsers, deployment, "report", summary="show a run's validation report")
    report.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    report.add_argument(
        "--html",
        metavar="FILE",
        help="write the run's self-contained HTML report (dataset, plan and actual, loss curve) to FILE instead",
    )
    report.set_defaults(handler=run_report)

    _register_deployment_commands(subparsers, deployment)
    _register_approval_commands(subparsers, deployment)
    _register_evaluation_commands(subparsers, deployment)

    local = subparsers.add_parser("local", help="the pipeline on a local emulated AWS (no account needed)")
    local_commands = local.add_subparsers(dest="local_command", metavar="COMMAND", required=True)
    up = local_commands.add_parser(
        "up",
        help="start the emulated AWS, deploy both stacks and keep them up until Ctrl-C",
        description="Start the local emulated AWS, deploy the pipeline to it and print the settings to export in "
        "another terminal, where `novaft submit / status / runs / report / cancel` then work without extra flags. "
        "Training is simulated. Runs until Ctrl-C or SIGTERM.",
    )
    up.add_argument(
        "--training-seconds",
        type=_positive_seconds,
        default=DEFAULT_TRAINING_SECONDS,
        metavar="SECONDS",
        help=f"how long each simulated training job runs (default {DEFAULT_TRAINING_SECONDS:g})",
    )
    up.add_argument("--assembly", metavar="DIR", help="deploy this synthesized cloud assembly instead of synthesizing")
    up.set_defaults(handler=run_local_up)


# --- shared ------------------------------------------------------------------------------------------------------


def _connect(args: argparse.Namespace) -> PipelineOperator:
    env_stage = os.environ.get(STAGE_ENV)
    stack_name = resolve_stack_name(stack=args.stack, stage=args.stage, env_stage=env_stage)
    session = AwsSession.from_settings(profile=args.profile, region=args.region)
    return PipelineOperator.connect(session, stack_name, chosen=bool(args.stack or args.stage or env_stage))


def _deployment_flags(args: argparse.Namespace) -> str:
    """The flags the user passed to find the deployment, repeated in the hints we print."""
    flags = [f"--{name} {value}" for name in ("stage", "stack", "region", "profile") if (value := getattr(args, name))]
    return "".join(f" {flag}" for flag in flags)


def _print(text: str) -> None:
    print(text, flush=True)


def _follow(operator: PipelineOperator, run: RunView, args: argparse.Namespace) -> int:
    # On a terminal the progress bar is redrawn in place; anywhere else (a log, a pipe) it is one line per new step.
    terminal = sys.stdout.isatty()
    shown: dict[str, object] = {"line": None, "pending": False}

    def end_progress_line() -> None:
        if shown["pending"]:
            sys.stdout.write("\n")
            shown["pending"] = False

    def show(status: RunStatus) -> None:
        end_progress_line()
        _print(format_progress_line(status, now=now()))

    def show_progress(status: RunStatus) -> None:
        progress = operator.training_progress(status, now=now())
        if progress is None:
            return
        line = format_progress(progress, bar=terminal)
        if terminal:
            sys.stdout.write(f"\r\033[K{line}")
            sys.stdout.flush()
            shown["pending"] = True
        elif (progress.step, progress.loss) != shown["line"]:
            _print(line)
            shown["line"] = (progress.step, progress.loss)

    final = follow_run(
        lambda: operator.status_of(run),
        show,
        interval=args.interval,
        timeout=args.timeout,
        sleep=sleep,
        clock=clock,
        on_poll=show_progress,
    )
    end_progress_line()
    _print(format_status(final, now=now(), console_region=operator.console_region))
    return ExitCode.OK if final.succeeded else ExitCode.FAILED


# --- commands ----------------------------------------------------------------------------------------------------


def _existing_file(value: str | None, what: str) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise InputFileError(f"{what} {value}: {'is a directory' if path.is_dir() else 'no such file'}")
    return path


def run_submit(args: argparse.Namespace) -> int:
    train = _existing_file(args.data, "data file")
    assert train is not None  # a required positional argument
    validation = _existing_file(args.validation, "validation file")
    job = _existing_file(args.job, "job spec")
    run_name = run_name_for(args.data, args.run)

    with aws_errors_as_usage():
        # Find the deployment before a possibly long local check, so a missing stack or credential fails fast.
        operator = _connect(args)
        outputs = operator.outputs
        try:
            spec = job_spec_for_submit(job, outputs.default_job)
        except JobSpecInvalid as exc:
            _print(str(exc))
            _print("nothing uploaded: fix the job spec and submit again")
            return ExitCode.FAILED
        check = check_locally(
            train=train,
            validation=validation,
            spec=spec,
            dataset_bucket=outputs.datasets_bucket,
            media_prefix=outputs.incoming_prefix,
        )
        if check.report is None:
            _print(
                f"no --job given and stack {outputs.stack_name} publishes no default job: skipped the local check; "
                "the pipeline validates the data (see `novaft report`)"
            )
        else:
            _print(format_text_report(check.report, str(train), str(validation) if validation else None).rstrip())
        if not check.ok:
            _print("nothing uploaded: fix the problems above and submit again")
            return ExitCode.FAILED

        uploads = plan_uploads(
            incoming_prefix=outputs.incoming_prefix, run_name=run_name, train=train, validation=validation, job=job
        )
        uploaded = operator.upload_submission(run_name, uploads)
        for upload in uploads:
            _print(f"uploaded {upload.source} -> s3://{outputs.datasets_bucket}/{upload.key}")
        # The pipeline runs the same content once: wait for its decision before saying what was submitted.
        registration = wait_for(
            lambda: operator.registration(run_name, uploaded),
            what=f"the pipeline registering run {run_name} (is the trigger rule deployed?)",
            # Registration takes seconds; the run itself is followed at --interval.
            interval=min(args.interval, REGISTRATION_POLL_SECONDS),
            timeout=args.timeout or DEFAULT_APPEAR_TIMEOUT_SECONDS,
            sleep=sleep,
            clock=clock,
        )
        run = registration.run
        if registration.duplicate:
            _print(format_duplicate_submission(run))
            return ExitCode.DUPLICATE
        _print(f"submitted run {run_name}: attempt {run.attempt}, run id {run.run_id}")
        _print(f"follow it:  novaft status {run.run_id} --wait{_deployment_flags(args)}")
        if not args.wait:
            return ExitCode.OK
        return _follow(operator, run, args)


def run_status(args: argparse.Namespace) -> int:
    with aws_errors_as_usage():
        operator = _connect(args)
        if args.wait:
            return _follow(operator, operator.runs.resolve(args.run), args)
        _print(format_status(operator.status(args.run), now=now(), console_region=operator.console_region))
        return ExitCode.OK


def run_runs(args: argparse.Namespace) -> int:
    with aws_errors_as_usage():
        operator = _connect(args)
        _print(format_runs_table(operator.runs.recent(args.limit), now=now()))
        return ExitCode.OK


def run_cancel(args: argparse.Namespace) -> int:
    with aws_errors_as_usage():
        operator = _connect(args)
        outcome = operator.cancel(args.run)
        status, stopped = outcome.status, outcome.stopped
        for problem in outcome.problems:
            print(f"novaft: warning: {problem}", file=sys.stderr)
        if not stopped and not outcome.problems:
            _print(f"nothing to stop: run {status.run.run_name} is {status.run.status}")
        for item in stopped:
            _print(f"stopping {item}")

        def recorded() -> RunStatus | None:
            current = operator.status_of(status.run)
            return current if current.finished and current.run.is_final else None

        if stopped:
            try:
                status = wait_for(
                    recorded,
                    what="the pipeline recording the stop",
                    interval=args.interval,
                    timeout=args.timeout,
                    sleep=sleep,
                    clock=clock,
                )
            except WaitTimedOut as exc:
                # A slow record is not a failed cancel: show what is known now.
                status = operator.status_of(status.run)
                _print(f"note: {exc}; the run record may still change")
        _print(format_status(status, now=now(), console_region=operator.console_region))
        return ExitCode.USAGE if outcome.problems and not stopped else ExitCode.OK


def run_report(args: argparse.Namespace) -> int:
    if args.html:
        return _write_html_report(args)
    with aws_errors_as_usage():
        operator = _connect(args)
        run, report = operator.validation_report(args.run)
    if args.format == "json":
        json.dump(report, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        _print(format_report(report, run_name=run.run_name, run_id=run.run_id))
        if run.evaluation:
            from novaft.operator.text import evaluation_rows

            _print("\n".join(f"{label:<12}{value}" for label, value in evaluation_rows(run.evaluation)))
    return ExitCode.OK


def _write_html_report(args: argparse.Namespace) -> int:
    target = Path(args.html)
    if target.is_dir():
        raise InputFileError(f"--html {args.html} is a directory; give the path of the .html file to write")
    with aws_errors_as_usage():
        operator = _connect(args)
        run, page = operator.run_report_page(args.run, generated_at=now().strftime("%Y-%m-%d %H:%M:%SZ"))
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"--html {args.html}: cannot write it ({exc.strerror or exc})") from None
    _print(f"wrote the report of run {run.run_name} ({run.run_id}) to {target}")
    return ExitCode.OK


def run_local_up(args: argparse.Namespace) -> int:
    local_up(training_seconds=args.training_seconds, assembly=Path(args.assembly) if args.assembly else None)
    return ExitCode.OK


# --- novaft deploy / undeploy / invoke (docs/deployment.md) -----------------------------------------------------------


def _register_deployment_commands(subparsers: Any, deployment: argparse.ArgumentParser) -> None:
    from novaft.operator.deployments import DEFAULT_DEPLOY_POLL_SECONDS, DEFAULT_DEPLOY_WAIT_SECONDS
    from novaft.pipeline.facts import DEPLOY_TARGETS

    deploy = _run_command(
        subparsers,
        deployment,
        "deploy",
        summary="import a completed run's model into Amazon Bedrock, deploy it and smoke-test it",
        description="Import the run's checkpoint into Bedrock (reusing the model imported before), deploy it on "
        "demand or on provisioned throughput (where the stage policy allows it), wait until it is ready, send one "
        "Converse request and record it on the run. Run it again to continue a deployment that was not ready yet.",
    )
    deploy.add_argument(
        "--target",
        choices=[target for target in DEPLOY_TARGETS if target != "none"],
        help="where to deploy (default: the run's job spec deploy.target, else bedrock-on-demand)",
    )
    deploy.add_argument("--model-units", type=_positive_int, help="provisioned throughput: model units to buy")
    deploy.add_argument("--prompt", help="the smoke test's prompt (default: the first prompt of the run's data)")
    deploy.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_DEPLOY_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"stop waiting after this long (default {DEFAULT_DEPLOY_WAIT_SECONDS:g}); the deployment goes on",
    )
    deploy.add_argument(
        "--interval",
        type=_positive_seconds,
        default=DEFAULT_DEPLOY_POLL_SECONDS,
        metavar="SECONDS",
        help=argparse.SUPPRESS,
    )
    deploy.set_defaults(handler=run_deploy)

    undeploy = _run_command(
        subparsers,
        deployment,
        "undeploy",
        summary="delete a run's Bedrock deployment or provisioned throughput, and record it",
    )
    undeploy.add_argument("--delete-model", action="store_true", help="also delete the model imported into Bedrock")
    undeploy.set_defaults(handler=run_undeploy)

    invoke = _run_command(
        subparsers, deployment, "invoke", summary="send one Converse request to a run's deployment and print the answer"
    )
    invoke.add_argument("prompt", help="the user message")
    invoke.set_defaults(handler=run_invoke)


def _deployment_ports(args: argparse.Namespace, operator: PipelineOperator) -> Any:
    from novaft.aws.bedrock import BedrockConverse, BedrockModels
    from novaft.aws.runs_table import RunsTable
    from novaft.aws.s3_objects import S3Objects
    from novaft.operator.deployments import Ports

    session = AwsSession.from_settings(profile=args.profile, region=args.region or operator.outputs.region)
    return Ports(
        host=BedrockModels(session.client("bedrock")),
        runtime=BedrockConverse(session.client("bedrock-runtime")),
        runs=RunsTable(session.dynamodb_table(operator.outputs.runs_table)),
        objects=S3Objects(session.client("s3")),
    )


def _stage_of(stack_name: str) -> str:
    # Pipeline stacks are named Novaft-<stage>-Pipeline (novaft.pipeline.facts.pipeline_stack_name).
    return stack_name.removeprefix("Novaft-").removesuffix("-Pipeline")


def run_deploy(args: argparse.Namespace) -> int:
    from novaft.operator.deployments import DeployContext, chosen_target, deploy, run_job_spec
    from novaft.pipeline.facts import iso_utc
    from novaft.policy import StagePolicy

    with aws_errors_as_usage():
        operator = _connect(args)
        run = operator.runs.resolve(args.run)
        ports = _deployment_ports(args, operator)
        outputs = operator.outputs
        policy = StagePolicy.model_validate(outputs.stage_policy) if outputs.stage_policy else StagePolicy()
        context = DeployContext(
            stage=_stage_of(outputs.stack_name),
            region=outputs.region,
            role_arn=outputs.bedrock_import_role_arn,
            policy=policy,
            artifacts_bucket=outputs.artifacts_bucket,
            runs_prefix=outputs.runs_prefix,
        )
        job_spec = run_job_spec(ports, context, run.run_id)
        target = chosen_target(args.target, job_spec)
        _print(f"deploying run {run.run_name} ({run.run_id}) to {target}")
        recorded = deploy(
            run.run_id,
            target=target,
            model_units=args.model_units,
            prompt=args.prompt,
            job_spec=job_spec,
            context=context,
            ports=ports,
            now=lambda: iso_utc(now()),
            sleep=sleep,
            clock=clock,
            wait_seconds=args.timeout,
            poll_seconds=args.interval,
            on_progress=lambda progress: _print(f"  {progress.phase}"),
        )
    _print(recorded.message.rstrip())
    return ExitCode.OK if recorded.status == "Active" else ExitCode.FAILED


def run_undeploy(args: argparse.Namespace) -> int:
    from novaft.operator.deployments import undeploy
    from novaft.pipeline.facts import iso_utc

    with aws_errors_as_usage():
        operator = _connect(args)
        run = operator.runs.resolve(args.run)
        outcome = undeploy(
            run.run_id, delete_model=args.delete_model, ports=_deployment_ports(args, operator), now=iso_utc(now())
        )
    removed = "deleted the deployment" if outcome.deployment_deleted else "the deployment was already gone"
    if outcome.model_deleted:
        removed += " and the imported model"
    _print(f"run {run.run_name} ({run.run_id}): {removed}; recorded on the run")
    return ExitCode.OK


def run_invoke(args: argparse.Namespace) -> int:
    from novaft.operator.deployments import invoke

    with aws_errors_as_usage():
        operator = _connect(args)
        run = operator.runs.resolve(args.run)
        answer = invoke(run.run_id, args.prompt, ports=_deployment_ports(args, operator))
    _print(answer)
    return ExitCode.OK


# --- approve / reject (docs/policy.md, "Approval") -----------------------------------------------------------------


def _register_approval_commands(subparsers: Any, deployment: argparse.ArgumentParser) -> None:
    approve = _run_command(
        subparsers,
        deployment,
        "approve",
        summary="let a run that waits for approval (AwaitingApproval) start",
        description="Answer the approval a run waits for: the run goes on to the queue and starts its training job. "
        "Your identity (the ARN of your AWS credentials) and the time are recorded on the run.",
    )
    approve.set_defaults(handler=run_approve)
    reject = _run_command(
        subparsers,
        deployment,
        "reject",
        summary="refuse a run that waits for approval; it ends Rejected and starts no job",
        description="Answer the approval a run waits for with a refusal: the run is recorded Rejected with your "
        "reason, your identity and the time, and no training job starts.",
    )
    reject.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded and notified)")
    reject.set_defaults(handler=run_reject)


def run_approve(args: argparse.Namespace) -> int:
    return _answer_approval(args, approve=True)


def run_reject(args: argparse.Namespace) -> int:
    return _answer_approval(args, approve=False)


def _answer_approval(args: argparse.Namespace, *, approve: bool) -> int:
    from novaft.aws.caller import CallerIdentity
    from novaft.aws.runs_table import RunsTable
    from novaft.aws.step_functions import StepFunctionsExecutions, TaskNotWaiting
    from novaft.operator.approval import ApprovalNotPending, answer_approval
    from novaft.pipeline.facts import iso_utc

    with aws_errors_as_usage():
        operator = _connect(args)
        run = operator.runs.resolve(args.run)
        session = AwsSession.from_settings(profile=args.profile, region=args.region or operator.outputs.region)
        runs = RunsTable(session.dynamodb_table(operator.outputs.runs_table))
        try:
            answer = answer_approval(
                runs.get(run.run_id),
                approve=approve,
                reason=getattr(args, "reason", None),
                caller_arn=CallerIdentity(session.client("sts")).arn(),
                now=iso_utc(now()),
                tasks=StepFunctionsExecutions(session.client("stepfunctions")),
                runs=runs,
            )
        except (ApprovalNotPending, TaskNotWaiting) as error:
            print(f"novaft: {type(error).__name__}: {error}", file=sys.stderr)
            return ExitCode.FAILED
    _print(answer.describe())
    return ExitCode.OK


# --- novaft evaluate (docs/evaluation.md) -----------------------------------------------------------------------------


def _register_evaluation_commands(subparsers: Any, deployment: argparse.ArgumentParser) -> None:
    evaluate = _run_command(
        subparsers,
        deployment,
        "evaluate",
        summary="evaluate an already completed run (its checkpoint, and the base model when its job spec asks)",
        description="Start a workflow execution that runs the evaluation jobs of a completed run: the tasks of its "
        "job spec's evaluation, or --tasks. Results go to runs/<run_id>/evaluation.json and the run record, with the "
        "gate's verdict; the stage policy bounds the jobs as it bounds training.",
    )
    evaluate.add_argument(
        "--tasks", metavar="TASK[,TASK]", help="evaluation tasks, comma-separated (default: the job spec's)"
    )
    evaluate.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from novaft.pipeline.errors import EvaluationFailed

    tasks = [task.strip() for task in args.tasks.split(",") if task.strip()] if args.tasks else None
    with aws_errors_as_usage():
        operator = _connect(args)
        execution_name = f"evaluate-{now().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        try:
            run, document, estimate = operator.later_evaluation(args.run, tasks=tasks)
        except EvaluationFailed as error:
            print(f"novaft evaluate: {error}", file=sys.stderr)
            return ExitCode.USAGE
        _print(_evaluation_estimate_text(estimate))
        execution_arn = operator.start_later_evaluation(document, execution_name=execution_name)
    _print(f"evaluating run {run.run_name} ({run.run_id}): execution {execution_arn}")
    _print(f"follow it with: novaft status {run.run_id}{_deployment_flags(args)}")
    return ExitCode.OK


def _evaluation_estimate_text(estimate: Any) -> str:
    jobs = f"{estimate.jobs} evaluation job(s) on {estimate.instance_count} x {estimate.instance_type}"
    if estimate.estimated_cost_usd is None or estimate.ceiling_usd is None:
        return f"{jobs}; no price for it in this region: the stage policy decides whether it may start"
    hours = estimate.max_runtime_seconds / 3600
    return (
        f"{jobs}: about ${estimate.estimated_cost_usd:,.2f}, at most ${estimate.ceiling_usd:,.2f} "
        f"({hours:g} h each at most); the stage policy judges it before any job starts"
    )
