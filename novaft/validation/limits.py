"""Published limits for Nova Converse datasets, in one place, each with its source.

Sources, as cited below:

* [constraints] "Dataset constraints" table and media rules, Nova user guide,
  https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html
* [smtj] "Fine-tuning Amazon Nova models using SageMaker training jobs" (SFT/DPO dataset limits tables, recipe key
  table), https://docs.aws.amazon.com/nova/latest/userguide/nova-fine-tune-1.html
* [nova2] Nova 2.0 Lite fine-tuning, https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-fine-tune-2.html
* [validator] the AWS sample dataset validator the docs link to (aws-samples/amazon-nova-samples,
  customization/bedrock-finetuning/understanding/dataset_validation/nova_ft_dataset_validator.py)

Where two sources disagree the stricter value is used and the other is named in a comment; the values a user could
reasonably want to change are fields of ``ValidationOptions`` instead of hard rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from novaft.pipeline.facts import Method, ModelName

Platform = Literal["sagemaker", "bedrock"]
Modality = Literal["text", "media"]

PLATFORMS: tuple[Platform, ...] = ("sagemaker", "bedrock")

MODEL_DISPLAY_NAMES: dict[ModelName, str] = {
    "micro": "Nova Micro 1.0",
    "lite": "Nova Lite 1.0",
    "pro": "Nova Pro 1.0",
    "lite-2": "Nova Lite 2.0",
}


@dataclass(frozen=True, slots=True)
class ModelRules:
    """What a model accepts in a record."""

    accepts_media: bool
    image_formats: frozenset[str]
    video_formats: frozenset[str]
    # Nova 2.0 extras: reasoningContent, toolUse/toolResult/toolConfig and document blocks [nova2].
    accepts_nova2_blocks: bool
    accepts_dpo: bool
    # Nova 2.0 ignores a validation channel [nova2]; Bedrock rejects it [validator].
    accepts_validation_set: bool


# [constraints]: image png/jpeg/gif/webp, video mov/mkv/mp4/webm. [nova2] narrows both (no webp, no webm).
_NOVA1_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})
_NOVA1_VIDEO_FORMATS = frozenset({"mov", "mkv", "mp4", "webm"})
_NOVA2_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif"})
_NOVA2_VIDEO_FORMATS = frozenset({"mov", "mkv", "mp4"})

MODEL_RULES: dict[ModelName, ModelRules] = {
    # Micro is text-only: both AWS sample validators reject media for it; the docs only list modalities per model.
    "micro": ModelRules(False, frozenset(), frozenset(), False, True, True),
    "lite": ModelRules(True, _NOVA1_IMAGE_FORMATS, _NOVA1_VIDEO_FORMATS, False, True, True),
    "pro": ModelRules(True, _NOVA1_IMAGE_FORMATS, _NOVA1_VIDEO_FORMATS, False, True, True),
    # [validator] rejects DPO for lite-2.0; [nova2] documents SFT (and RFT, which novaft does not run).
    "lite-2": ModelRules(True, _NOVA2_IMAGE_FORMATS, _NOVA2_VIDEO_FORMATS, True, False, False),
}

# Media per sample [constraints]: at most 10 images, at most 1 video, never both in one dataset.
MAX_IMAGES_PER_SAMPLE = 10
MAX_VIDEOS_PER_SAMPLE = 1
# [validator] allows one document per sample; [nova2] says pdf only and never mixed with images or video.
MAX_DOCUMENTS_PER_SAMPLE = 1
DOCUMENT_FORMATS = frozenset({"pdf"})

# Reserved words [constraints]: User:, Bot:, Assistant:, System:, <image>, <video>, [EOS]. [validator] adds Thought:
# and <unk>. The union is the stricter rule. Matched case-insensitively, anywhere in any text.
RESERVED_WORDS: tuple[str, ...] = (
    "User:",
    "Bot:",
    "Assistant:",
    "System:",
    "Thought:",
    "<image>",
    "<video>",
    "[EOS]",
    "<unk>",
)

PREFERENCE_LABELS: tuple[str, str] = ("preferred", "non-preferred")


@dataclass(frozen=True, slots=True)
class RecordBounds:
    minimum: int
    maximum: int | None
    source: str


# Record count bounds per platform. [constraints] gives 8..20,000 for Micro/Lite/Pro; the SMTJ page points to that
# table ("Other constraints on datasets are the same"), while [validator] skips the bound for SageMaker and the [smtj]
# size tables go well past 20k. The stricter 20,000 is the default on both platforms; ValidationOptions.max_records
# lifts it for SageMaker users who follow the [smtj] tables.
# Nova 2.0 Lite SFT: minimum 200 [nova2]; [validator] uses 200..20,000.
RECORD_BOUNDS: dict[tuple[Platform, ModelName], RecordBounds] = {
    **{
        ("bedrock", model): RecordBounds(8, 20_000, "Bedrock dataset constraints table (Nova user guide)")
        for model in ("micro", "lite", "pro")
    },
    **{
        ("sagemaker", model): RecordBounds(
            8, 20_000, "Nova dataset constraints table, linked from the SageMaker training jobs page"
        )
        for model in ("micro", "lite", "pro")
    },
    ("bedrock", "lite-2"): RecordBounds(200, 20_000, "Nova 2.0 fine-tuning page and the AWS sample validator"),
    ("sagemaker", "lite-2"): RecordBounds(200, 20_000, "Nova 2.0 fine-tuning page and the AWS sample validator"),
}

# Hard ceilings for training_config.max_length [smtj]: SFT 65,536 (Lite LoRA 32,768), DPO 32,768. Used as the
# per-record length limit when the user gives no --max-length.
MAX_LENGTH_CEILING: dict[Method, int] = {"sft": 65_536, "dpo": 32_768}


@dataclass(frozen=True, slots=True)
class SizeGuidance:
    """One row of the [smtj] dataset limits tables: records that fit a 5-day run at 5 epochs."""

    context_tokens: int
    max_records: int
    note: str = ""


_LITE_LORA_AT_64K = "LoRA is not supported at 64k for Nova Lite"


def _image_days(days: int) -> str:
    return f"the source estimates 20k image samples within {days} days"


# (method, model, modality) -> rows by context length; the value is the smaller of the full-rank and LoRA rows, since
# the validator does not know which one the recipe uses. [smtj] tables, transcribed:
#   SFT 32k: Micro 100k; Lite text 100k, media 50k (full) / 90k (LoRA); Pro text 40k, media 30k (full) / 35k (LoRA).
#   SFT 64k: Micro 50k; Lite text 50k, media 30k (LoRA not supported at 64k); Pro text 17k, media 15k.
#   DPO 16k: Micro 120k (full) / 125k (LoRA); Lite text 130k / 140k, image "20k samples within 2 days";
#            Pro text 45k / 55k, image "20k samples within 4 days".
#   DPO 32k: Micro 45k / 50k; Lite text 55k / 60k, image 35k; Pro text 20k / 22k, image 16k / 18k (the table labels
#            the Pro image rows "64k context length" inside the 32k section; taken as 32k here).
# Nova 2.0 Lite has no such table in the source document, so it gets no size warning.
SIZE_GUIDANCE: dict[tuple[Method, ModelName, Modality], tuple[SizeGuidance, ...]] = {
    ("sft", "micro", "text"): (SizeGuidance(32_768, 100_000), SizeGuidance(65_536, 50_000)),
    ("sft", "lite", "text"): (SizeGuidance(32_768, 100_000), SizeGuidance(65_536, 50_000)),
    ("sft", "lite", "media"): (SizeGuidance(32_768, 50_000), SizeGuidance(65_536, 30_000, _LITE_LORA_AT_64K)),
    ("sft", "pro", "text"): (SizeGuidance(32_768, 40_000), SizeGuidance(65_536, 17_000)),
    ("sft", "pro", "media"): (SizeGuidance(32_768, 30_000), SizeGuidance(65_536, 15_000)),
    ("dpo", "micro", "text"): (SizeGuidance(16_384, 120_000), SizeGuidance(32_768, 45_000)),
    ("dpo", "lite", "text"): (SizeGuidance(16_384, 130_000), SizeGuidance(32_768, 55_000)),
    ("dpo", "lite", "media"): (SizeGuidance(16_384, 20_000, _image_days(2)), SizeGuidance(32_768, 35_000)),
    ("dpo", "pro", "text"): (SizeGuidance(16_384, 45_000), SizeGuidance(32_768, 20_000)),
    ("dpo", "pro", "media"): (SizeGuidance(16_384, 20_000, _image_days(4)), SizeGuidance(32_768, 16_000)),
}


def size_guidance_for(method: Method, model: ModelName, modality: Modality, max_length: int) -> SizeGuidance | None:
    """The [smtj] row for the smallest tabulated context length that holds ``max_length`` (None if untabulated)."""
    rows = SIZE_GUIDANCE.get((method, model, modality))
    if not rows:
        return None
    for row in rows:
        if max_length <= row.context_tokens:
            return row
    return rows[-1]
