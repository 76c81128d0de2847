"""`ocrflow ocr` as a user runs it: a real subprocess, real files."""

import json
import os
import subprocess
import sys

import pytest

from tests import bad_inputs
from tests.conftest import SAMPLES


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "ocrflow.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


def test_ocr_writes_three_outputs_per_input(tmp_path):
    result = run_cli("ocr", SAMPLES / "receipt.png", SAMPLES / "memo.tiff", "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["memo.json", "memo.searchable.pdf", "memo.txt", "receipt.json", "receipt.searchable.pdf",
                     "receipt.txt"]
    doc = json.loads((tmp_path / "out" / "memo.json").read_text())
    assert doc["schema_version"] == "1.0" and doc["source"]["page_count"] == 2
    assert "Museum" in (tmp_path / "out" / "memo.txt").read_text()
    assert (tmp_path / "out" / "memo.searchable.pdf").read_bytes().startswith(b"%PDF-")


def test_bad_inputs_get_one_line_each_and_a_failing_exit(tmp_path):
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "page.pdf").write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    (tmp_path / "locked.pdf").write_bytes(bad_inputs.encrypted_pdf((SAMPLES / "letter.pdf").read_bytes()))
    (tmp_path / "bomb.png").write_bytes(bad_inputs.png_bomb())
    (tmp_path / "zero.pdf").write_bytes(bad_inputs.zero_page_pdf())
    (tmp_path / "broken.pdf").write_bytes(bad_inputs.damaged_pdf())
    bad = ["empty.pdf", "page.pdf", "locked.pdf", "bomb.png", "zero.pdf", "broken.pdf", "missing.pdf"]
    result = run_cli("ocr", *[tmp_path / n for n in bad], SAMPLES / "notice.jpg", "-o", tmp_path / "out")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(bad), result.stderr
    for name, code, line in zip(bad, ["empty_file", "not_a_document", "password_protected", "image_too_large",
                                      "no_pages", "damaged_pdf", "not_found"], lines, strict=True):
        assert name in line and f"[{code}]" in line
    assert "Traceback" not in result.stderr
    # the good input in the same run still got its outputs, and nothing half-written is left behind
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "notice.json", "notice.searchable.pdf", "notice.txt"]


def test_tiny_images_are_results_with_a_warning_and_no_library_chatter(tmp_path):
    """1x1, 2x2 and 4x4 px at 300 dpi (a page under 1 pt) and one with an alpha channel: each gets its outputs,
    no words and a `tiny_image` warning; img2pdf's notes (page under 3 pt, soft mask) stay off stderr."""
    from PIL import Image

    names = []
    for side, mode in ((1, "L"), (2, "L"), (4, "RGB"), (2, "RGBA")):
        names.append(f"tiny{side}{mode}.png")
        Image.new(mode, (side, side), "white").save(tmp_path / names[-1], dpi=(300, 300))
    result = run_cli("ocr", *[tmp_path / n for n in names], "-o", tmp_path / "out", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for name in names:
        doc = json.loads((tmp_path / "out" / name.replace(".png", ".json")).read_text())
        (page,) = doc["pages"]
        assert page["blocks"] == [] and page["text"] == ""
        assert [w["code"] for w in page["warnings"]] == ["tiny_image"]
        assert (tmp_path / "out" / name.replace(".png", ".searchable.pdf")).read_bytes().startswith(b"%PDF-")


def test_a_nearly_empty_scan_leaves_stderr_clean(tmp_path):
    """One faint line on a grey A4 scan: Tesseract's image library complains ("Error in pixScanForForeground:
    invalid box") on such pages; none of it reaches the user's terminal."""
    from PIL import Image, ImageDraw, ImageFont

    from ocrflow.samples import _scanner

    image = Image.new("L", (2480, 3508), 240)
    ImageDraw.Draw(image).text((1100, 1600), "Invoice paid in March", fill=215,
                               font=ImageFont.load_default(size=42))
    image = _scanner(image, 3, False, 1.5)  # blur, grey paper, grain
    image.save(tmp_path / "faint.jpg", "JPEG", quality=75, dpi=(300, 300))
    result = run_cli("ocr", tmp_path / "faint.jpg", "-o", tmp_path / "out", "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""


def test_unknown_language_is_a_clear_error(tmp_path):
    result = run_cli("ocr", SAMPLES / "notice.jpg", "-o", tmp_path, "--lang", "xx1")
    assert result.returncode == 1
    assert "[language_not_available]" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("provider", ["pdfmage", "yandex"])
def test_unconfigured_provider_names_the_missing_settings(tmp_path, provider):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCRFLOW_")}
    result = run_cli("ocr", SAMPLES / "notice.jpg", "-o", tmp_path, "--provider", provider, env=env)
    assert result.returncode == 1 and "[config_error]" in result.stderr
    assert f"OCRFLOW_{provider.upper()}_" in result.stderr and "Traceback" not in result.stderr


def test_german_language_data_is_installed(tmp_path):
    result = run_cli("ocr", SAMPLES / "notice.jpg", "-o", tmp_path, "--lang", "de+en")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "notice.json").read_text())["provider"]["languages"] == ["deu", "eng"]


def test_schema_command_prints_the_committed_schema():
    result = run_cli("schema")
    assert result.returncode == 0
    assert result.stdout == (SAMPLES.parents[1] / "schemas" / "document.v1.schema.json").read_text()


def test_a_file_name_that_is_not_utf8_is_ocred_under_its_own_bytes(tmp_path):
    scan = os.path.join(os.fsencode(tmp_path), b"scan-\xff.png")  # Latin-1 'ÿ', not UTF-8
    with open(scan, "wb") as file:
        file.write((SAMPLES / "receipt.png").read_bytes())
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "ocrflow.cli", "ocr", scan, "-o", out], capture_output=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    # the outputs are named with the input's own bytes
    assert sorted(os.listdir(os.fsencode(out))) == [b"scan-\xff.json", b"scan-\xff.searchable.pdf", b"scan-\xff.txt"]
    # the JSON (UTF-8) keeps the name with the byte spelled as \xff, and so does what the CLI prints
    doc = json.loads((out / os.fsdecode(b"scan-\xff.json")).read_bytes())
    assert doc["source"]["filename"] == "scan-\\xff.png"
    assert b"scan-\\xff.png -> scan-\\xff.json, scan-\\xff.txt, scan-\\xff.searchable.pdf (1 page)" in result.stdout
    assert "Parcel Tracking" in (out / os.fsdecode(b"scan-\xff.txt")).read_text()


def test_ocr_mode_is_chosen_on_the_command_line_or_in_the_environment(tmp_path):
    """A stamped scan: auto OCRs its scan and keeps the stamp; skip-text reads the stamp only; a mode that does
    not exist is refused with the modes that do."""
    from tests.conftest import sample_bytes, stamped_pdf

    scan = tmp_path / "stamped.pdf"
    scan.write_bytes(stamped_pdf(sample_bytes("letter.pdf"), "Scanned by ACME Records"))
    auto = run_cli("ocr", scan, "-o", tmp_path / "auto", "--quiet")
    assert auto.returncode == 0, auto.stderr
    assert "Delivery Contract" in (tmp_path / "auto" / "stamped.txt").read_text()
    skip = run_cli("ocr", scan, "-o", tmp_path / "skip", "--quiet", "--ocr-mode", "skip-text")
    assert skip.returncode == 0, skip.stderr
    assert (tmp_path / "skip" / "stamped.txt").read_text().strip() == "Scanned by ACME Records"
    pages = json.loads((tmp_path / "skip" / "stamped.json").read_text())["pages"]
    assert [p["text_source"] for p in pages] == ["pdf"]
    env = {**os.environ, "OCRFLOW_OCR_MODE": "force"}
    forced = run_cli("ocr", scan, "-o", tmp_path / "force", "--quiet", env=env)
    assert forced.returncode == 0, forced.stderr
    pages = json.loads((tmp_path / "force" / "stamped.json").read_text())["pages"]
    assert [p["text_source"] for p in pages] == ["ocr"]
    wrong = run_cli("ocr", scan, "-o", tmp_path / "x", "--ocr-mode", "sometimes")
    assert wrong.returncode == 2 and "auto" in wrong.stderr and "skip-text" in wrong.stderr
