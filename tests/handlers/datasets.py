"""Small Converse datasets for handler tests (kept here so they never change under the tests)."""

from __future__ import annotations

import json


def sft_record(question: str = "What is the capital of France?", answer: str = "Paris.") -> dict[str, object]:
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You answer geography questions briefly."}],
        "messages": [
            {"role": "user", "content": [{"text": question}]},
            {"role": "assistant", "content": [{"text": answer}]},
        ],
    }


def jsonl(records: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def valid_sft(count: int = 10) -> bytes:
    return jsonl([sft_record(f"Question number {index}?", f"Answer number {index}.") for index in range(count)])


def invalid_sft() -> bytes:
    records = [sft_record() for _ in range(10)]
    records[2] = {**records[2], "messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}
    return jsonl(records) + b"not json\n"
