"""The operator's remote control: find the deployed pipeline, read its runs, follow, stop and report on them.

Modules that talk to AWS (``*_adapter.py``, ``clients.py``, ``aws_errors.py`` and the use-case modules that combine
them) hold every boto3 call; the formatting and decision logic lives in pure modules (no boto3, no environment) so it
is tested without any AWS at all.
"""
