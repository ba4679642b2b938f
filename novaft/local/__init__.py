"""The pipeline on an emulated AWS, on this machine: a moto server with its gaps closed, a deployer for a synthesized
cloud assembly, and a SageMaker training simulator. Nothing here trains a model: training is always simulated.
"""
