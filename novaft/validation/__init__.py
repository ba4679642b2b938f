"""Streaming validator for Converse-format JSONL datasets (Nova 1.0 Micro/Lite/Pro and Nova 2.0 Lite, SFT and DPO).

Pure code: no AWS calls and no environment reads. Feed it lines from any binary stream::

    with open("train.jsonl", "rb") as stream:
        report = validate_dataset(iter_byte_lines(stream), ValidationOptions(model="lite", method="sft"))
    report.valid, report.records, report.to_dict()
"""

from novaft.pipeline.facts import METHODS, MODEL_NAMES, Method, ModelName
from novaft.validation.dataset import validate_dataset
from novaft.validation.issues import Code, Issue
from novaft.validation.limits import PLATFORMS, Platform
from novaft.validation.line_reader import ByteLine, iter_byte_lines
from novaft.validation.options import ValidationOptions
from novaft.validation.report import OverlengthSummary, ValidationReport
from novaft.validation.stats import DatasetStats, TokenDistribution

__all__ = [
    "METHODS",
    "MODEL_NAMES",
    "PLATFORMS",
    "ByteLine",
    "Code",
    "DatasetStats",
    "Issue",
    "Method",
    "ModelName",
    "OverlengthSummary",
    "Platform",
    "TokenDistribution",
    "ValidationOptions",
    "ValidationReport",
    "iter_byte_lines",
    "validate_dataset",
]
