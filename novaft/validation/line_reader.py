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
    new_line = tuple.__new__
    while True:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            break
        # One C-speed split per chunk instead of a find per line; the last piece has no newline after it yet.
        pieces = chunk.split(b"\n")
        tail = pieces.pop()
        if pieces:
            first = pieces[0]
            number += 1
            if skipping or pending_size + len(first) > max_line_bytes:
                yield ByteLine(number, b"", _without_cr(pending_size + len(first), first), True)
            elif pending:
                pending.append(first)
                yield _finished(number, b"".join(pending))
            else:
                yield _finished(number, first)
            pending.clear()
            pending_size = 0
            skipping = False
            for index in range(1, len(pieces)):
                piece = pieces[index]
                number += 1
                size = len(piece)
                if size > max_line_bytes:
                    yield ByteLine(number, b"", _without_cr(size, piece), True)
                # tuple.__new__ builds the ByteLine in C; its generated Python constructor costs more than the split.
                elif piece.endswith(b"\r"):
                    yield new_line(ByteLine, (number, piece[:-1], size - 1, False))
                else:
                    yield new_line(ByteLine, (number, piece, size, False))
        tail_size = len(tail)
        pending_size += tail_size
        if not skipping:
            if pending_size > max_line_bytes:
                skipping = True
                pending.clear()
            elif tail_size:
                pending.append(tail)
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


def _without_cr(size: int, piece: bytes) -> int:
    """The size of a line without its CR, when the CR came in the same chunk as the newline."""
    return size - 1 if piece.endswith(b"\r") else size
