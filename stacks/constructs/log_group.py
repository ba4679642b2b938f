"""Log groups with a retention, and the retentions CloudWatch Logs accepts: the one list of them in the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

# CloudWatch Logs retention values (days) and their CDK names; StageConfig accepts exactly these keys.
LOG_RETENTION: Mapping[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = tuple(LOG_RETENTION)


@dataclass(frozen=True)
class Retention:
    """How long what a construct creates is kept: its log events ``log_days`` days (one of
    ``CLOUDWATCH_RETENTION_DAYS``), and whether its resources outlive the stack (``removal_policy``)."""

    log_days: int
    removal_policy: cdk.RemovalPolicy

    def log_group(self, scope: Construct) -> logs.LogGroup:
        """The log group of the construct ``scope``, keeping events ``log_days`` days."""
        return logs.LogGroup(scope, "Logs", retention=LOG_RETENTION[self.log_days], removal_policy=self.removal_policy)
