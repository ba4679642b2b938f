"""Find the reserved words of Nova's chat template in text, case-insensitively.

The search runs on parsed text, so JSON escapes (``\\u003cimage>``) are already decoded and cannot hide a word.
Every reserved word holds a marker character: the ``X:`` words end with ':', ``<image>``, ``<video>`` and ``<unk>``
start with '<', ``[EOS]`` starts with '['. Text without a marker (the common case) is cleared by three C-speed
substring tests; otherwise only a short window around each marker goes through the regular expression, because
scanning a whole long text with a nine-way case-insensitive alternation costs more than parsing the line.
"""

from __future__ import annotations

import re

from novaft.validation.limits import RESERVED_WORDS

# ASCII case folding: the same letters match whatever the path that looks at them.
_TEXT_PATTERN = re.compile("|".join(re.escape(word) for word in RESERVED_WORDS), re.IGNORECASE | re.ASCII)
# Any word holding a marker at position i lies within [i - reach, i + reach + 1).
_WINDOW_REACH = max(len(word) for word in RESERVED_WORDS) - 1


def _marker_neighbours() -> tuple[tuple[str, int, frozenset[str]], ...]:
    """For each marker, which neighbouring character a reserved word puts next to it (both ASCII cases).

    Colons are common in real text ("10:30", "Note:"), so a colon whose left neighbour cannot end a reserved word
    ("User:" ends in 'r') is dismissed with one character test instead of a regular-expression search.
    """
    neighbours: dict[tuple[str, int], set[str]] = {}
    for word in RESERVED_WORDS:
        if word.endswith(":"):
            key, letter = (":", -1), word[-2]
        else:
            key, letter = (word[0], 1), word[1]
        neighbours.setdefault(key, set()).update({letter.lower(), letter.upper()})
    return tuple((marker, offset, frozenset(letters)) for (marker, offset), letters in neighbours.items())


_MARKER_NEIGHBOURS = _marker_neighbours()


def may_hold_reserved_word(text: str) -> bool:
    """False when ``text`` holds none of the marker characters, so no reserved word; a cheap first filter."""
    return ":" in text or "<" in text or "[" in text


def holds_reserved_word(text: str) -> bool:
    """Exactly whether ``_TEXT_PATTERN`` matches somewhere in ``text``, looking only near plausible markers."""
    reach = _WINDOW_REACH
    search = _TEXT_PATTERN.search
    find = text.find
    end = len(text)
    for marker, offset, letters in _MARKER_NEIGHBOURS:
        position = find(marker)
        while position >= 0:
            neighbour = position + offset
            if (
                0 <= neighbour < end
                and text[neighbour] in letters
                and search(text, max(0, position - reach), position + reach + 1) is not None
            ):
                return True
            position = find(marker, position + 1)
    return False


def find_reserved_word(text: str) -> str | None:
    """The first reserved word in ``text`` as written there, or None."""
    if not may_hold_reserved_word(text) or not holds_reserved_word(text):
        return None
    match = _TEXT_PATTERN.search(text)
    return match.group(0) if match else None
