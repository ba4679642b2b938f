"""SNS notifications to the run topic (people subscribe their e-mail to it)."""

from __future__ import annotations

from typing import Any


class SnsNotifier:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> None:
        self._sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)
