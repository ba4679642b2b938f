"""The workflow's domain: run identity, step contracts, run records, output manifest and settings (pure).

Nothing here imports boto3 or reads ``os.environ``; the Lambda handlers and the CLI pass both in.
"""
