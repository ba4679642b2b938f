"""The operator's remote control: find the deployed pipeline, read its runs, follow, stop and report on them.

``pipeline`` holds the use cases and talks to AWS only through the adapters of ``novaft.aws``; every other module
(discovery, runs, follow, submit, text, errors) is pure (no boto3, no environment), so it is tested without any AWS.
"""
