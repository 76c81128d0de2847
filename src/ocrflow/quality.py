"""Accuracy against known text.

- `word_recall`: the share of the truth's words (lower-cased, letters and digits) that the OCR found.
- `character_error_rate` (CER): Levenshtein edits per character of the truth, whitespace runs as one space.
- `word_error_rate` (WER): Levenshtein edits over whitespace-split words per word of the truth.
- `bag_of_words_error`: order-insensitive - words with their leading and trailing punctuation stripped (case
  kept) compared as multisets: (missed + spurious) / (2 x truth words). Transcriptions sometimes follow a
  reading order of their own (columns, captions), which CER and WER count as errors and this does not.

The edit distances are rapidfuzz's (a C++ Levenshtein).
"""

from __future__ import annotations

import re
import unicodedata
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


def single_spaced(text: str) -> str:
    """The text with every run of whitespace (line breaks, tabs, form feeds) as one space, none at the ends."""
    return " ".join(text.split())


def character_error_rate(truth: str, recognised: str) -> float:
    """Insertions, deletions and substitutions turning the recognised text into the truth, per character of the
    truth; whitespace runs count as one space, so line breaks and spacing do not count, case and punctuation do."""
    from rapidfuzz.distance import Levenshtein

    expected, found = single_spaced(truth), single_spaced(recognised)
    return Levenshtein.distance(expected, found) / max(1, len(expected))


def word_error_rate(truth: str, recognised: str) -> float:
    """Word insertions, deletions and substitutions (words split at whitespace, compared exactly) per truth word."""
    from rapidfuzz.distance import Levenshtein

    expected, found = truth.split(), recognised.split()
    return Levenshtein.distance(expected, found) / max(1, len(expected))


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def bag_of_words(text: str) -> Counter[str]:
    """Whitespace-split words with leading and trailing punctuation stripped, case kept; words that were only
    punctuation are left out."""
    words: Counter[str] = Counter()
    for token in text.split():
        start, end = 0, len(token)
        while start < end and _is_punctuation(token[start]):
            start += 1
        while end > start and _is_punctuation(token[end - 1]):
            end -= 1
        if start < end:
            words[token[start:end]] += 1
    return words


def bag_of_words_error(truth: str, recognised: str) -> float:
    """(truth words not found + recognised words not in the truth) / (2 x truth words), as multisets: 0 when the
    same words come out in any order, 0.5 when nothing is recognised, over 0.5 when more is invented than missed.
    """
    expected, found = bag_of_words(truth), bag_of_words(recognised)
    missed = sum((expected - found).values())
    spurious = sum((found - expected).values())
    return (missed + spurious) / (2 * max(1, sum(expected.values())))
