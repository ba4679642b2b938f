"""Dashboard and alarms of the pipeline.

The handlers emit run metrics through Powertools into namespace ``Novaft`` with one dimension, ``service`` =
``novaft-<stage>`` (POWERTOOLS_SERVICE_NAME); see docs/architecture.md, "Metrics".
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

METRICS_NAMESPACE = "Novaft"
RUN_METRICS = {
    "RunsStarted": "Runs started",
    "RunsSucceeded": "Runs succeeded",
    "RunsFailed": "Runs failed",
    "DatasetsInvalid": "Invalid datasets",
}
TRAINING_HOURS_METRIC = "TrainingHours"


def service_name(stage: str) -> str:
    """The value of the ``service`` dimension (and POWERTOOLS_SERVICE_NAME) of one deployment."""
    return f"novaft-{stage}"


class PipelineMonitoring(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, state_machine: sfn.StateMachine, topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"service": service_name(stage)}
        period = cdk.Duration.hours(1)

        def run_metric(name: str, label: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map=dimensions,
                statistic="Sum",
                period=period,
                label=label,
            )

        failed_executions = state_machine.metric_failed(period=cdk.Duration.minutes(5), statistic="Sum")
        self.failed_alarm = cloudwatch.Alarm(
            self,
            "ExecutionsFailed",
            alarm_description=f"novaft {stage}: a run workflow execution failed",
            metric=failed_executions,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.timed_out_alarm = cloudwatch.Alarm(
            self,
            "ExecutionsTimedOut",
            alarm_description=f"novaft {stage}: a run workflow execution hit the state-machine timeout",
            metric=state_machine.metric_timed_out(period=cdk.Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.failed_alarm, self.timed_out_alarm):
            alarm.add_alarm_action(actions.SnsAction(topic))

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=cdk.Duration.days(7))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Runs",
                left=[run_metric(name, label) for name, label in RUN_METRICS.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Training hours (billable)",
                left=[run_metric(TRAINING_HOURS_METRIC, "Training hours")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Workflow executions",
                left=[
                    state_machine.metric_started(period=period, label="Started"),
                    state_machine.metric_succeeded(period=period, label="Succeeded"),
                    state_machine.metric_failed(period=period, label="Failed"),
                    state_machine.metric_aborted(period=period, label="Aborted"),
                    state_machine.metric_timed_out(period=period, label="Timed out"),
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=[self.failed_alarm, self.timed_out_alarm], width=12),
        )
