from __future__ import annotations

import pytest

from ocrflow.service import OcrOutcome, run_ocr
from tests.conftest import SAMPLE_FILES

_CACHE: dict[str, OcrOutcome] = {}


@pytest.fixture(scope="session")
def ocr_sample():
    """OCR a sample once per test session (the engine is the slow part) and share the outcome."""

    def run(name: str) -> OcrOutcome:
        if name not in _CACHE:
            path = next(p for p in SAMPLE_FILES if p.name == name)
            _CACHE[name] = run_ocr(path.read_bytes(), filename=name)
        return _CACHE[name]

    return run


@pytest.fixture
def aws_env(monkeypatch):
    """A region and fake credentials for moto, so no call can reach a real account."""
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
