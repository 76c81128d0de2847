"""Tesseract's own word list, asked whether a word exists: the judge both engines' readings are scored by.

A `.traineddata` file holds each language's dictionary as a squished DAWG (a compressed trie of ~340,000
English words, read by the LSTM recognizer) over the language's LSTM unicharset. tesserocr does not expose
Tesseract's `IsValidWord`, and `dawg2wordlist` is not in the Lambda layer, so the two components are read here
from the file the engine already loads (format: tesseract's ccutil/tessdatamanager.cpp, dict/dawg.cpp):

- the file: a little-endian uint32 entry count, an int64 offset per entry (-1 where absent), then the entries;
- the unicharset: a text file, one character per line after the count, its line number its id;
- the DAWG: int16 magic 42, int32 unicharset size, int32 edge count, then uint64 edges. An edge holds a
  character id in its low bits, three flags (last edge of its node, backward edge, end of a word) and the index
  of the node it leads to (0, the root, where the word cannot go on); a node is the run of edges from its
  index to the one marked last.

A word is known when it, its lower case or its capitalized form is in the list of any of the page's languages.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from functools import cache
from math import ceil, log2
from pathlib import Path

_LSTM_SYSTEM_DAWG = 19
_LSTM_UNICHARSET = 21
_DAWG_MAGIC = 42
_MARKER, _BACKWARD, _WORD_END = 1, 2, 4


class WordList:
    """One language's dictionary (`known(word)`), or an empty one where the language has none."""

    def __init__(self, edges: Sequence[int] = (), unichar_ids: dict[str, int] | None = None,
                 unicharset_size: int = 0) -> None:
        self._edges = edges
        self._ids = unichar_ids or {}
        flag_bit = ceil(log2(unicharset_size + 1)) if unicharset_size else 0
        self._letter_mask = (1 << flag_bit) - 1
        self._flag_shift = flag_bit
        self._node_shift = flag_bit + 3

    def __len__(self) -> int:
        return len(self._edges)

    def _next(self, node: int, unichar_id: int) -> tuple[int, bool] | None:
        """The node the character leads to from `node`, and whether a word may end on it."""
        index = node
        while index < len(self._edges):
            edge = self._edges[index]
            flags = (edge >> self._flag_shift) & 7
            if flags & _BACKWARD:
                return None
            if edge & self._letter_mask == unichar_id:
                return edge >> self._node_shift, bool(flags & _WORD_END)
            if flags & _MARKER:
                return None
            index += 1
        return None

    def contains(self, word: str) -> bool:
        if not word or not self._edges:
            return False
        node, ends = 0, False
        for index, char in enumerate(word):
            unichar_id = self._ids.get(char)
            if unichar_id is None or (index and node == 0):  # an edge leading to node 0 leads nowhere
                return False
            step = self._next(node, unichar_id)
            if step is None:
                return False
            node, ends = step
        return ends

    def known(self, word: str) -> bool:
        return any(self.contains(form) for form in dict.fromkeys((word, word.lower(), word.capitalize())))


def read_word_list(traineddata: Path) -> WordList:
    data = traineddata.read_bytes()
    parts = _components(data)
    if _LSTM_SYSTEM_DAWG not in parts or _LSTM_UNICHARSET not in parts:
        return WordList()
    lines = parts[_LSTM_UNICHARSET].decode("utf-8", "replace").splitlines()
    ids = {line.split(" ", 1)[0]: index for index, line in enumerate(lines[1:]) if line}
    dawg = parts[_LSTM_SYSTEM_DAWG]
    magic, unicharset_size, count = struct.unpack_from("<hii", dawg)
    if magic != _DAWG_MAGIC or len(dawg) < 10 + 8 * count:
        return WordList()
    edges = memoryview(dawg)[10:10 + 8 * count].cast("Q")
    return WordList(edges, ids, unicharset_size)


def _components(data: bytes) -> dict[int, bytes]:
    (count,) = struct.unpack_from("<I", data)
    offsets = struct.unpack_from(f"<{count}q", data, 4)
    present = sorted((offset, kind) for kind, offset in enumerate(offsets) if offset >= 0)
    ends = [offset for offset, _ in present[1:]] + [len(data)]
    return {kind: data[offset:end] for (offset, kind), end in zip(present, ends, strict=True)}


_lock = threading.Lock()


@cache
def _word_list(traineddata: Path) -> WordList:
    with _lock:
        try:
            return read_word_list(traineddata)
        except (OSError, struct.error, ValueError, TypeError):  # a file we cannot read judges no word
            return WordList()


def bare_word(text: str) -> str:
    """A word as a dictionary holds it: lower case, without the punctuation around it ("(Sunday," -> "sunday")."""
    return text.strip(".,;:!?()[]{}\"'“”‘’-").lower()


class Dictionary:
    """The dictionaries of a page's languages, loaded once per process (~0.05 s and ~4 MB for English)."""

    def __init__(self, tessdata_path: Path, languages: Sequence[str]) -> None:
        self._lists = [_word_list(Path(tessdata_path) / f"{code}.traineddata") for code in languages]

    def known(self, word: str) -> bool:
        return any(words.known(word) for words in self._lists)
