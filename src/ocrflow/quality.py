"""Accuracy against known text: word recall (the share of the truth's words that the OCR found)."""

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
