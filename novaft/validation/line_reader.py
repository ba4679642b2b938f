"""Split any binary stream into numbered lines with a cap on line length.

The same reader serves a local file and an S3 ``StreamingBody``: it only calls ``read(n)``. Memory is bounded by
``max_line_bytes`` plus one chunk, whatever the input: a line longer than the cap is not kept; the reader yields a
``ByteLine`` with ``overlong=True`` and its length, and resumes at the next newline.

Line ends: ``\\n`` splits lines; a ``\\r`` before it (CRLF) is dropped. The last line needs no newline. A file that ends
with a newline has no extra empty line after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol

from novaft.validation.options import DEFAULT_MAX_LINE_BYTES

CHUNK_BYTES = 1024 * 1024


class BinaryReadable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class ByteLine(NamedTuple):
    number: int  # 1-based
    content: bytes  # without the line end; empty when overlong
    size: int  # bytes on the line, without the line end
    overlong: bool


def iter_byte_lines(
    stream: BinaryReadable, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[ByteLine]:
    """Yield the lines of ``stream`` in order. See the module docstring for line ends and over-long lines."""
    number = 0
    pending: list[bytes] = []  # pieces of the current, unfinished line
    pending_size = 0
    skipping = False  # the current line is already over the cap; its bytes are being dropped
    while True:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            break
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                tail_size = len(chunk) - start
                pending_size += tail_size
                if not skipping:
                    if pending_size > max_line_bytes:
                        skipping = True
                        pending.clear()
                    elif tail_size:
                        pending.append(chunk[start:] if start else chunk)
                break
            piece_size = newline - start
            number += 1
            if skipping or pending_size + piece_size > max_line_bytes:
                yield ByteLine(number, b"", _without_cr_size(pending_size + piece_size, chunk, newline), True)
            elif pending:
                pending.append(chunk[start:newline])
                yield _finished(number, b"".join(pending))
            else:
                yield _finished(number, chunk[start:newline])
            pending.clear()
            pending_size = 0
            skipping = False
            start = newline + 1
    if pending_size:
        number += 1
        if skipping:
            yield ByteLine(number, b"", pending_size, True)
        else:
            yield _finished(number, b"".join(pending))


def _finished(number: int, content: bytes) -> ByteLine:
    if content.endswith(b"\r"):
        content = content[:-1]
    return ByteLine(number, content, len(content), False)


def _without_cr_size(size: int, chunk: bytes, newline: int) -> int:
    return size - 1 if newline > 0 and chunk[newline - 1] == 0x0D else size
