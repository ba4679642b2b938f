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
from novaft.operator.text import format_progress_line, format_report, format_runs_table, format_status
from novaft.pipeline.errors import JobSpecInvalid
from novaft.pipeline.facts import DEFAULT_STAGE, STAGE_ENV, ExitCode

DEFAULT_RUNS_LIMIT = 20
DEFAULT_APPEAR_TIMEOUT_SECONDS = 300.0
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

    status = subparsers.add_parser(
        "status", parents=[deployment], help="show a run's workflow state, training status and elapsed time"
    )
    status.add_argument("run", metavar="RUN", help="run id or run name (the latest run of that name)")
    _wait_options(status, wait_help="follow the run until it ends, printing each state change")
    status.set_defaults(handler=run_status)

    runs = subparsers.add_parser("runs", parents=[deployment], help="list recent runs, newest first")
    runs.add_argument("--limit", type=_positive_int, default=DEFAULT_RUNS_LIMIT, help="how many runs (default 20)")
    runs.set_defaults(handler=run_runs)

    cancel = subparsers.add_parser(
        "cancel", parents=[deployment], help="stop a run's training job and workflow execution"
    )
    cancel.add_argument("run", metavar="RUN", help="run id or run name")
    cancel.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_CANCEL_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for the run to be recorded as Stopped (default {DEFAULT_CANCEL_WAIT_SECONDS:g})",
    )
    cancel.add_argument("--interval", type=_positive_seconds, default=2.0, metavar="SECONDS", help=argparse.SUPPRESS)
    cancel.set_defaults(handler=run_cancel)

    report = subparsers.add_parser("report", parents=[deployment], help="show a run's validation report")
    report.add_argument("run", metavar="RUN", help="run id or run name")
    report.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    report.set_defaults(handler=run_report)

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
    def show(status: RunStatus) -> None:
        _print(format_progress_line(status, now=now()))

    final = follow_run(
        lambda: operator.status_of(run), show, interval=args.interval, timeout=args.timeout, sleep=sleep, clock=clock
    )
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

        previous = operator.runs.latest_by_name(run_name) if args.wait else None
        uploads = plan_uploads(
            incoming_prefix=outputs.incoming_prefix, run_name=run_name, train=train, validation=validation, job=job
        )
        operator.upload_submission(run_name, uploads)
        for upload in uploads:
            _print(f"uploaded {upload.source} -> s3://{outputs.datasets_bucket}/{upload.key}")
        _print(f"submitted run {run_name}")
        _print(f"follow it:  novaft status {run_name} --wait{_deployment_flags(args)}")
        if not args.wait:
            return ExitCode.OK

        def new_run() -> RunView | None:
            latest = operator.runs.latest_by_name(run_name)
            if latest is None or (previous is not None and latest.run_id == previous.run_id):
                return None
            return latest

        run = wait_for(
            new_run,
            what=f"the pipeline registering run {run_name} (is the trigger rule deployed?)",
            interval=args.interval,
            timeout=args.timeout or DEFAULT_APPEAR_TIMEOUT_SECONDS,
            sleep=sleep,
            clock=clock,
        )
        _print(f"run id {run.run_id}")
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
    with aws_errors_as_usage():
        operator = _connect(args)
        run, report = operator.validation_report(args.run)
    if args.format == "json":
        json.dump(report, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        _print(format_report(report, run_name=run.run_name, run_id=run.run_id))
    return ExitCode.OK


def run_local_up(args: argparse.Namespace) -> int:
    local_up(training_seconds=args.training_seconds, assembly=Path(args.assembly) if args.assembly else None)
    return ExitCode.OK
