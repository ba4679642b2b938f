"""Dashboard and alarms of the pipeline.

The handlers emit run metrics through Powertools into namespace ``METRICS_NAMESPACE`` with one dimension,
``service`` = ``service_name(stage)`` (POWERTOOLS_SERVICE_NAME); see docs/architecture.md, "Metrics".
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from novaft.pipeline.facts import (
    EVALUATION_COUNT_METRICS,
    METRIC_TRAINING_HOURS,
    METRICS_NAMESPACE,
    QUEUE_GAUGE_METRICS,
    RUN_COUNT_METRICS,
    service_name,
)

# The state machine's execution metrics are sums over 5 minutes: any one failed or timed-out execution alarms.
ALARM_PERIOD = cdk.Duration.minutes(5)


class PipelineMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        state_machine: sfn.StateMachine,
        topic: sns.ITopic,
        stop_dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {"service": service_name(stage)}
        period = cdk.Duration.hours(1)

        def run_metric(name: str, label: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=period,
                label=label,
            )

        def run_graph(title: str, labels: Mapping[str, str], statistic: str = "Sum") -> cloudwatch.GraphWidget:
            """One widget with a line per metric name, labelled as the facts table says."""
            return cloudwatch.GraphWidget(
                title=title, left=[run_metric(name, label, statistic) for name, label in labels.items()], width=12
            )

        def any_execution_alarm(construct_id: str, what: str, metric: cloudwatch.Metric) -> cloudwatch.Alarm:
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=f"novaft {stage}: a run workflow execution {what}",
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
            return alarm

        self.failed_alarm = any_execution_alarm(
            "ExecutionsFailed", "failed", state_machine.metric_failed(period=ALARM_PERIOD, statistic="Sum")
        )
        self.timed_out_alarm = any_execution_alarm(
            "ExecutionsTimedOut",
            "hit the state-machine timeout",
            state_machine.metric_timed_out(period=ALARM_PERIOD, statistic="Sum"),
        )
        # A message here is a stop that EventBridge could not deliver: the run's training job may still be running.
        self.undelivered_stop_alarm = cloudwatch.Alarm(
            self,
            "StopUndelivered",
            alarm_description=(
                f"novaft {stage}: a stop of an ended run could not be delivered to stop_run; its training job may "
                f"still be running (the event is in {stop_dead_letter_queue.queue_name})"
            ),
            metric=stop_dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=ALARM_PERIOD, statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.undelivered_stop_alarm.add_alarm_action(actions.SnsAction(topic))

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=cdk.Duration.days(7))
        self.dashboard.add_widgets(
            run_graph("Runs by status", RUN_COUNT_METRICS),
            run_graph("Training hours (billable)", {METRIC_TRAINING_HOURS: "Training hours"}),
        )
        self.dashboard.add_widgets(
            run_graph("Evaluation gate", EVALUATION_COUNT_METRICS),
            # A gauge: the sum of the readings would count each waiting run once per poll.
            run_graph("Training queue depth", QUEUE_GAUGE_METRICS, "Maximum"),
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
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[self.failed_alarm, self.timed_out_alarm, self.undelivered_stop_alarm],
                width=12,
            ),
        )
