"""`make demo`'s report as a person reads it, in an 80-column terminal: the progress lines, the results table
and what follows are all the demo prints - no access log of the provider fakes, no colour codes - and no value
is cut short: result keys, routing reasons and times are whole, and each time says what it measures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import SAMPLES

pytestmark = pytest.mark.e2e

#: four pages for pdfmage's fake, prepaid for three (the demo's route): at least one job is passed to the
#: embedded engine with pdfmage's refusal as the reason; receipt.png is also the HTTPS API part's sample
DEMO_SAMPLES = ("letter.pdf", "memo.tiff", "receipt.png")


def test_the_demo_report_fits_80_columns_and_cuts_nothing(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in DEMO_SAMPLES:
        for path in SAMPLES.glob(f"{name.rsplit('.', 1)[0]}.*"):
            shutil.copy(path, samples)
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "80", "OCRFLOW_LOCAL_WORK": str(tmp_path / "work")}
    result = subprocess.run([sys.executable, "-m", "ocrflow.cli", "stack-demo", "--samples", samples, "--output",
                             out, "--provider", "auto"], capture_output=True, text=True, timeout=900, env=env)
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed

    assert "HTTP/1.1" not in printed and "\x1b[" not in printed  # the fakes' access log went to its file
    assert "POST /api/v1/document-ocr" in (tmp_path / "work" / "fakes.log").read_text()
    assert "…" not in printed  # nothing ellipsised
    assert max(len(line) for line in printed.splitlines()) <= 80
    for name in DEMO_SAMPLES:
        assert re.search(rf"^ {re.escape(name)}\s+\d+\s+(pdfmage|tesseract)\s", printed, re.MULTILINE), printed
        assert re.search(rf"^  {re.escape(name)}\s+job [0-9a-f-]+$", printed, re.MULTILINE), printed  # its key
        assert re.search(rf"^  {re.escape(name)}\s+succeeded [\d.]+ s after its upload$", printed, re.MULTILINE)
        assert (out / f"{name.rsplit('.', 1)[0]}.searchable.pdf").exists()
    assert re.search(r"pdfmage (failed|skipped):", printed) and re.search(r"\bquota_exhausted\b", printed)
    assert "job s: the job itself" in printed and "upload to end s: from the upload" in printed
