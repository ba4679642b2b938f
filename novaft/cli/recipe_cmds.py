"""``novaft render`` (print the recipe YAML for a job) and ``novaft plan`` (print the CreateTrainingJob request,
the instances and the estimate, without calling AWS)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from novaft.cli.stage_plan import (
    DEFAULT_CDK_JSON,
    StagePlanSettings,
    evaluation_lines,
    policy_section,
    read_stage,
    verdict_lines,
    with_default_evaluation,
)
from novaft.errors import InputFileError, Problem, UsageError, clipped
from novaft.pipeline.deployment import check_deploy
from novaft.pipeline.facts import (
    DEFAULT_INCOMING_PREFIX,
    DEFAULT_RUNS_PREFIX,
    EVAL_TASKS,
    METHODS,
    MODEL_NAMES,
    PEFT_CHOICES,
    RUN_ID_TAG,
    STAGE_TAG,
    ExitCode,
    run_prefix,
    training_job_locations,
)
from novaft.policy import PolicyViolation, evaluate, policy_request_from
from novaft.recipes import (
    JobSpec,
    JobSpecError,
    TrainingJobInputs,
    build_training_job_request,
    estimate_run,
    hyperparameters_from_recipe_keys,
    load_catalog,
    load_price_table,
    render_evaluation_recipe,
    render_recipe,
    training_job_name,
)
from novaft.recipes.estimate import Estimate
from novaft.recipes.job_spec import job_yaml_mapping, read_job_file, reading
from novaft.recipes.yaml_io import YamlSyntaxError, load_user_yaml

# Obviously-example placeholders (AWS documentation account and bucket) for planning without an AWS account.
EXAMPLE_ROLE_ARN = "arn:aws:iam::111122223333:role/ExampleSageMakerExecutionRole"
EXAMPLE_OUTPUT = "s3://amzn-s3-demo-bucket/novaft/"
DEFAULT_REGION = "us-east-1"
CHARS_PER_TOKEN = 4.0  # rough English-text ratio for the local-file token estimate


def register(subparsers: Any) -> None:
    render = subparsers.add_parser("render", help="print the Nova recipe YAML for a job")
    _add_job_options(render)
    render.add_argument("-o", "--output-file", dest="output_file", metavar="FILE", help="write here (default stdout)")
    render.add_argument(
        "--eval",
        dest="eval_task",
        choices=EVAL_TASKS,
        metavar="TASK",
        help=f"print the evaluation recipe for TASK instead ({', '.join(EVAL_TASKS)}); with --model, --set, "
        "--instance-type, --instance-count",
    )
    render.set_defaults(handler=run_render)

    plan = subparsers.add_parser("plan", help="print the training job request, instances and estimate (no AWS calls)")
    plan.add_argument("--train", required=True, help="s3:// URI of train.jsonl (or a local file, for the estimate)")
    plan.add_argument("--validation", help="s3:// URI of validation.jsonl")
    _add_job_options(plan)  # the same choices as render: --job, or flags that override it
    plan.add_argument("--region", help=f"AWS region (default: the job's region, else {DEFAULT_REGION})")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.add_argument("--role-arn", default=EXAMPLE_ROLE_ARN, help="SageMaker execution role (default: an example ARN)")
    plan.add_argument("--output", default=EXAMPLE_OUTPUT, help="s3:// base for run artifacts (default: an example)")
    plan.add_argument("--run-id", help="run id the job name derives from (default: from the train URI)")
    plan.add_argument("--stats", type=Path, metavar="report.json", help="the validator's JSON report, for the estimate")
    plan.add_argument("--prices", type=Path, metavar="prices.yaml", help="price table (default: recipes/prices.yaml)")
    plan.add_argument(
        "--stage",
        metavar="NAME",
        help="apply this cdk.json stage: its region, VPC and policy; exit 4 when the policy refuses the job",
    )
    plan.add_argument(
        "--cdk-json", type=Path, metavar="PATH", help="the cdk.json --stage reads (default: cdk.json here)"
    )
    plan.set_defaults(handler=run_plan)


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODEL_NAMES)
    parser.add_argument("--method", choices=METHODS)
    parser.add_argument("--peft", choices=PEFT_CHOICES)
    parser.add_argument("--instance-type", metavar="ml.X")
    parser.add_argument("--instance-count", type=int, metavar="N")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="dotted.key=value",
        help="override a recipe key, e.g. training_config.model.optim.lr=5e-6",
    )
    parser.add_argument("--job", type=Path, metavar="job.yaml", help="job spec file (see recipes/README.md)")


# --- render ----------------------------------------------------------------------------------------------------------


def run_render(args: argparse.Namespace) -> int:
    yaml_text = _render_evaluation(args) if args.eval_task else render_recipe(spec_from_args(args)).yaml_text
    if args.output_file:
        _write(Path(args.output_file), yaml_text)
    else:
        sys.stdout.write(yaml_text)
    return 0


def _render_evaluation(args: argparse.Namespace) -> str:
    training_only = [
        flag for flag, value in (("--method", args.method), ("--peft", args.peft), ("--job", args.job)) if value
    ]
    if training_only:
        raise UsageError(f"{', '.join(training_only)}: training choices, not used with --eval")
    if args.model is None:
        raise UsageError("--eval needs --model (one of " + ", ".join(MODEL_NAMES) + ")")
    rendered = render_evaluation_recipe(
        args.model,
        args.eval_task,
        _parse_settings(args.settings),
        instance_type=args.instance_type,
        instance_count=args.instance_count,
    )
    return rendered.yaml_text


def spec_from_args(args: argparse.Namespace) -> JobSpec:
    """The job file's choices, overridden by any flag given on the command line."""
    job = getattr(args, "job", None)
    source = str(job) if job else "command line"
    data: dict[str, Any] = job_yaml_mapping(read_job_file(job), source=source) if job else {}
    for flag in ("model", "method", "peft", "instance_type", "instance_count"):
        value = getattr(args, flag, None)
        if value is not None:
            data[flag] = value
    typed_keys: dict[str, str] = {}
    settings = _parse_settings(getattr(args, "settings", []))
    if settings:
        translated, typed_keys = _hyperparameters_from_settings(data, settings)
        given = data.get("hyperparameters") or {}
        if isinstance(given, dict):  # anything else stays as written, for validation to name
            data["hyperparameters"] = {**given, **translated}
    try:
        return JobSpec.model_validate(data, context={"source": source})
    except JobSpecError as error:
        raise _in_typed_keys(error, typed_keys) from None


def _hyperparameters_from_settings(
    choices: dict[str, Any], settings: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The hyperparameters ``--set`` gives, and for each the recipe key the user typed (every bad key reported)."""
    hyperparameters: dict[str, Any] = {}
    typed_keys: dict[str, str] = {}
    problems: list[Problem] = []
    for dotted, value in settings.items():
        try:
            translated = hyperparameters_from_recipe_keys(choices, {dotted: value})
        except JobSpecError as error:
            problems += error.problems
            continue
        hyperparameters.update(translated)
        typed_keys.update(dict.fromkeys(translated, dotted))
    if problems:
        raise JobSpecError(problems, source="--set")
    return hyperparameters, typed_keys


def _in_typed_keys(error: JobSpecError, typed_keys: dict[str, str]) -> JobSpecError:
    """``error`` with each problem of a ``--set`` value named by the key typed, not the job spec's field."""
    fields = {f"hyperparameters.{name}": f"--set {dotted}" for name, dotted in typed_keys.items()}
    if not any(problem.field in fields for problem in error.problems):
        return error
    problems = [replace(problem, field=fields.get(problem.field, problem.field)) for problem in error.problems]
    return JobSpecError(problems, source=error.source)


def _parse_settings(pairs: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--set {clipped(repr(pair))}: expected dotted.key=value, e.g. training_config.model.optim.lr=5e-6"
            )
        try:
            settings[key.strip()] = load_user_yaml(raw, source=f"--set {clipped(key)}")
        except YamlSyntaxError as exc:
            raise UsageError(str(exc)) from None
    return settings


# --- plan ------------------------------------------------------------------------------------------------------------


def run_plan(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    if args.cdk_json and not args.stage:
        raise UsageError("--cdk-json: only used with --stage NAME")
    stage = read_stage(args.cdk_json or DEFAULT_CDK_JSON, args.stage) if args.stage else None
    if stage:
        spec = with_default_evaluation(spec, stage)
    region = args.region or (stage.region if stage else None) or spec.region or DEFAULT_REGION
    check_deploy(spec.deploy.target, peft=spec.peft, region=region)
    output_base = args.output.rstrip("/") + "/"
    if not output_base.startswith("s3://"):
        raise UsageError(f"--output {args.output!r}: expected an s3:// URI")
    placeholders = []
    if args.role_arn == EXAMPLE_ROLE_ARN:
        placeholders.append(f"role ARN is an example ({EXAMPLE_ROLE_ARN}); pass --role-arn")
    if args.output == EXAMPLE_OUTPUT:
        placeholders.append(f"artifact location is an example ({EXAMPLE_OUTPUT}); pass --output")

    stats = _read_stats(args.stats) if args.stats else None
    train_uri = args.train
    if not train_uri.startswith("s3://"):
        local = Path(train_uri)
        if stats is None:
            stats = _local_stats(local)
        train_uri = f"{output_base}{DEFAULT_INCOMING_PREFIX}{local.name}"
        placeholders.append(f"train data is local; the request shows {train_uri} where it would be uploaded")

    run_id = args.run_id or _run_id_from(args.train)
    job_name = training_job_name(run_id)
    run_folder = run_prefix(f"{output_base}{DEFAULT_RUNS_PREFIX}", run_id)
    rendered = render_recipe(spec)
    inputs = TrainingJobInputs(
        job_name=job_name,
        role_arn=args.role_arn,
        region=region,
        train_s3_uri=train_uri,
        validation_s3_uri=args.validation,
        **training_job_locations(run_folder, rendered.file_name),
        **(_stage_inputs(stage, run_id, placeholders) if stage else {}),
    )
    if spec.base_run_id is not None:
        placeholders.append(
            f"base_run_id {spec.base_run_id}: the pipeline continues from that run's recorded checkpoint; the recipe "
            "here starts from the base model"
        )
    request = build_training_job_request(spec, rendered, inputs)
    prices = load_price_table(args.prices) if args.prices else load_price_table()
    estimate = estimate_run(spec, stats, prices, region=region)
    # The evaluation jobs after training, estimated and counted by the policy as RenderRecipe does.
    from novaft.pipeline.steps.evaluation import estimate_evaluation, with_evaluation

    evaluation_estimate = estimate_evaluation(spec, prices, region=region)
    estimate_section = estimate.to_dict()
    if evaluation_estimate.jobs:
        estimate_section["evaluation"] = evaluation_estimate.to_dict()
    if args.validation and not rendered.variant.validation_channel:
        placeholders.append(f"{rendered.variant.id} ignores validation data: no validation channel is sent")
    plan = {
        "variant": rendered.variant.id,
        "instances": {"type": rendered.instance_type, "count": rendered.instance_count},
        "recipe_s3_uri": inputs.recipe_s3_uri,
        "request": request,
        "estimate": estimate_section,
        "placeholders": placeholders,
    }
    request_of_run = with_evaluation(policy_request_from(spec, estimate), evaluation_estimate)
    decision = evaluate(stage.policy, request_of_run) if stage else None
    if stage and decision:
        plan["policy"] = policy_section(stage, decision)
    if args.format == "json":
        print(json.dumps(plan, indent=2))
    else:
        text = _plan_text(plan, estimate, rendered.yaml_text, evaluation_lines(evaluation_estimate))
        ceiling = evaluation_estimate.ceiling_usd or 0.0
        verdict = verdict_lines(stage, decision, evaluation_ceiling_usd=ceiling) if stage and decision else []
        print("\n".join([*verdict, "", text]) if verdict else text)
    if decision and decision.violations:
        # The same message RenderRecipe records on a refused run.
        print(f"novaft: {PolicyViolation(decision.violations)}", file=sys.stderr)
        return ExitCode.POLICY
    return ExitCode.OK


def _stage_inputs(stage: StagePlanSettings, run_id: str, placeholders: list[str]) -> dict[str, Any]:
    """What the stage sets on every job (novaft.pipeline.steps.policy_gate.stage_job_inputs), as far as cdk.json
    knows it: the data key's ARN exists only once the stage is deployed."""
    placeholders.append(f"stage {stage.name}: job output is encrypted with the stage's data key (ARN set at deploy)")
    return {
        "subnets": stage.subnet_ids,
        "security_group_ids": stage.security_group_ids,
        "enable_network_isolation": stage.policy.require_network_isolation,
        "encrypt_inter_container_traffic": True,
        "tags": {RUN_ID_TAG: run_id, STAGE_TAG: stage.name},
    }


def _run_id_from(train: str) -> str:
    # Same naming as the trigger contract: incoming/<run>/train.jsonl is run <run>; incoming/<name>.jsonl is <name>.
    path = Path(train.rstrip("/"))
    stem = path.parent.name if path.stem == "train" and path.parent.name else path.stem or "run"
    return f"{stem}-{hashlib.sha256(train.encode('utf-8')).hexdigest()[:8]}"


def _read_stats(path: Path) -> dict[str, Any]:
    """The ``stats`` of a validation report (``novaft validate --format json``, or a run's validation-report.json)."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON (line {exc.lineno}): {exc.msg}") from None
    except RecursionError:
        raise UsageError(f"{path}: not a validation report (nested too deeply)") from None
    if not _is_validation_report(data):
        raise UsageError(
            f"{path}: not a validation report: expected the JSON object `novaft validate --format json` prints, "
            "with 'valid' (true or false), 'records' (a count) and 'stats' (an object)"
        )
    stats = data["stats"]
    return {**stats, "records": stats.get("records", data["records"])}


def _is_validation_report(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("valid"), bool)
        and isinstance(data.get("records"), int)
        and not isinstance(data.get("records"), bool)
        and isinstance(data.get("stats"), dict)
    )


def _local_stats(path: Path) -> dict[str, Any]:
    """Record count and a characters/4 token estimate, read line by line (for the estimate only, not validation)."""
    records = 0
    characters = 0
    try:
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    records += 1
                    characters += len(line)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    mean = characters / CHARS_PER_TOKEN / records if records else 0
    return {"records": records, "estimated_tokens": {"mean": mean}}


def _plan_text(plan: dict[str, Any], estimate: Estimate, recipe_text: str, evaluation: list[str]) -> str:
    request = plan["request"]
    lines = [
        f"Variant:    {plan['variant']}",
        f"Instances:  {plan['instances']['count']} x {plan['instances']['type']}",
        f"Job name:   {request['TrainingJobName']}",
        f"Image:      {request['AlgorithmSpecification']['TrainingImage']}",
        f"Recipe:     {plan['recipe_s3_uri']}",
        "",
        "Estimate (an estimate, not a quote):",
    ]
    if estimate.training_hours is None:
        lines.append("  no time estimate")
    else:
        lines.append(
            f"  training time   ~{estimate.training_hours} h ({estimate.records} records, {estimate.epochs} epochs)"
        )
        lines.append(f"  instance-hours  ~{estimate.instance_hours}")
    if estimate.cost is not None:
        price = f"{estimate.price_per_instance_hour} {estimate.currency}/instance-hour"
        lines.append(f"  cost            ~{estimate.cost} {estimate.currency} at {price}")
    lines += [f"  note: {note}" for note in estimate.notes]
    lines.append(f"  how: {estimate.method}")
    lines += evaluation
    if plan["placeholders"]:
        lines += ["", "Placeholders (planning without AWS):"] + [f"  - {item}" for item in plan["placeholders"]]
    lines += ["", "CreateTrainingJob request:", json.dumps(request, indent=2), "", "Recipe:", recipe_text.rstrip()]
    return "\n".join(lines)


# --- files -----------------------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    with reading(path):
        return path.read_text(encoding="utf-8")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot write ({exc.strerror})") from None


# The catalog is loaded lazily by the commands; importing this module stays cheap for `novaft --help`.
__all__ = ["load_catalog", "register", "run_plan", "run_render", "spec_from_args"]
