"""novaft: fine-tune Amazon Nova models on SageMaker training jobs.

The domain code (validator, recipe catalog and renderer, training-job request builder, limits tables) is pure:
no boto3 and no os.environ. AWS calls live in ``novaft.aws``; the command line lives in ``novaft.cli``.
"""

__version__ = "0.1.0"
