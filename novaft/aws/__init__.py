"""Thin boto3 adapters, one class per service, sharing one error mapping (``novaft.aws.errors``).

Each adapter takes its boto3 client: the Lambdas pass the process-wide clients of ``novaft.aws.clients``, the
operator commands the clients of one ``AwsSession``.
"""
