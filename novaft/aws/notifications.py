"""SNS notifications to the run topic (people subscribe their e-mail to it)."""

from __future__ import annotations

from novaft.aws.clients import client


def publish(topic_arn: str, subject: str, message: str) -> str:
    """Publish and return the message id."""
    response = client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=message)
    return str(response["MessageId"])
