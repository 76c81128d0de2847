"""`ocrflow submit` against the local stack's HTTPS API: a folder of files, bad ones among them, sent through
the presigned upload slots; the same outputs `ocrflow ocr` writes, one clear line per failed file, exit status
1; a second run finds every job again and creates none."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from lxml import etree

from ocrflow.local.api import api_key_for
from ocrflow.quality import word_recall
from tests.alto_schema import load_alto_schema
from tests.conftest import sample_bytes, truth_text

pytestmark = pytest.mark.e2e


def submit(stack, key: str, files, out, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocrflow.cli", "submit", *map(str, files), "-o", str(out),
                           "--api", stack.api_base, "--key", key, "--quiet", *extra],
                          capture_output=True, text=True, timeout=600)


def jobs_of(stack, key: str) -> list[dict]:
    answer = httpx.get(stack.api_base + "/v1/jobs", headers={"X-Api-Key": key}, params={"limit": 100}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["jobs"]


def test_a_folder_with_bad_files_is_submitted_once_and_read_as_ocr_reads_it(stack, tmp_path):
    key = api_key_for(stack, "e2e-submit")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("receipt.png", "letter.pdf", "notice.jpg"):
        (folder / name).write_bytes(sample_bytes(name))
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not a document at all\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 200)
    files = sorted(folder.iterdir())
    out = tmp_path / "out"

    first = submit(stack, key, files, out, "--outputs", "json,txt,pdf,alto", "--concurrency", "3")
    assert first.returncode == 1, first.stderr
    failed = {line.split(":")[1].strip(): line for line in first.stderr.splitlines() if line.startswith("ocrflow:")}
    assert set(failed) == {str(folder / "empty.png"), str(folder / "notes.txt"), str(folder / "broken.pdf")}
    assert failed[str(folder / "empty.png")].endswith("[empty_file]")
    assert failed[str(folder / "notes.txt")].endswith("[not_a_document]")
    assert failed[str(folder / "broken.pdf")].endswith("[damaged_pdf]")  # sent: the workflow found it damaged
    jobs = dict(re.findall(r"^(\S+) -> .* job (\S+)\)$", first.stdout, re.MULTILINE))
    assert sorted(jobs) == sorted(str(folder / n) for n in ("letter.pdf", "notice.jpg", "receipt.png"))
    for name in ("receipt.png", "letter.pdf", "notice.jpg"):
        stem = name.rsplit(".", 1)[0]
        assert sorted(p.name for p in out.glob(f"{stem}.*")) == sorted(
            f"{stem}{s}" for s in (".json", ".txt", ".searchable.pdf", ".alto.xml"))
        assert word_recall(truth_text(name), (out / f"{stem}.txt").read_text(encoding="utf-8")) > 0.9
        load_alto_schema().assertValid(etree.parse(str(out / f"{stem}.alto.xml")))
    made = jobs_of(stack, key)

    again = submit(stack, key, files, out, "--outputs", "json,txt,pdf,alto")
    assert again.returncode == 1
    assert dict(re.findall(r"^(\S+) -> .* job (\S+)\)$", again.stdout, re.MULTILINE)) == jobs
    assert len(jobs_of(stack, key)) == len(made)  # every file found its job again: none created twice
