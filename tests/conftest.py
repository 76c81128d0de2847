from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "events" / "samples"
SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if not p.name.endswith(".txt"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def truth_text(name: str) -> str:
    return (SAMPLES / f"{Path(name).stem}.truth.txt").read_text(encoding="utf-8")
