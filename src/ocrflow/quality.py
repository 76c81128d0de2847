"""Accuracy against known text: word recall (the share of the truth's words that the OCR found) and the
bag-of-words error (missed and spurious words both count; order-insensitive)."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[\w]+(?:['’][\w]+)*", re.UNICODE)


def words_of(text: str) -> Counter[str]:
    return Counter(match.group(0).lower() for match in _WORD.finditer(text))


def word_recall(truth: str, recognised: str) -> float:
    expected = words_of(truth)
    total = sum(expected.values())
    if total == 0:
        return 1.0
    found = words_of(recognised)
    return sum(min(count, found[word]) for word, count in expected.items()) / total


def bag_of_words_error(truth: str, recognised: str) -> float:
    """1 - F1 of the two multisets of lower-case words: 0 when the same words were read, in any order."""
    expected, found = words_of(truth), words_of(recognised)
    common = sum((expected & found).values())
    return 1.0 - 2.0 * common / max(1, sum(expected.values()) + sum(found.values()))
