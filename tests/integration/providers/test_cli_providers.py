"""`ocrflow ocr --provider NAME` against each provider's fake, as a user would run it: a real subprocess,
configured only through environment variables, writing JSON valid against the committed v1 schema."""

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from ocrflow.fakes.registry import fake_class
from ocrflow.fakes.serve import fake_environment
from ocrflow.providers.names import ProviderName
from ocrflow.quality import word_recall
from tests.conftest import REPO, SAMPLES, truth_text
from tests.integration.pdf_probe import pdftotext

SCHEMA = json.loads((REPO / "schemas" / "document.v1.schema.json").read_text())
REST = [p for p in ProviderName if p is not ProviderName.TESSERACT]
#: providers whose answer has word boxes for every input (OCR.space: images; Adobe/pdfocr: from their PDF)
BOXED = {ProviderName.ADOBE, ProviderName.OCRSPACE, ProviderName.PDFOCR, ProviderName.PDFMAGE, ProviderName.YANDEX}


@pytest.fixture(scope="module", params=REST, ids=lambda p: p.value)
def fake(request):
    try:
        server = fake_class(request.param)()
    except (ImportError, AttributeError):
        pytest.fail(f"no fake for {request.param.value}")
    with server:
        yield request.param, server


@pytest.mark.parametrize("sample", ["letter.pdf", "notice.jpg"])
def test_cli_writes_schema_valid_json_text_and_searchable_pdf(fake, sample, tmp_path):
    provider, server = fake
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCRFLOW_")}
    env.update(fake_environment(provider, server.base_url))
    env[f"OCRFLOW_{provider.value.upper()}_BACKOFF_BASE_SECONDS"] = "0.01"
    if provider is ProviderName.YANDEX:
        env["OCRFLOW_YANDEX_MIN_SYNC_INTERVAL_SECONDS"] = "0"
    result = subprocess.run([sys.executable, "-m", "ocrflow.cli", "ocr", str(SAMPLES / sample), "-o", str(tmp_path),
                             "--provider", provider.value], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    stem = sample.rsplit(".", 1)[0]
    document = json.loads((tmp_path / f"{stem}.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["provider"]["name"] == provider.value
    truth = truth_text(sample)
    assert word_recall(truth, (tmp_path / f"{stem}.txt").read_text()) >= 0.9
    assert word_recall(truth, pdftotext((tmp_path / f"{stem}.searchable.pdf").read_bytes())) >= 0.9
    words = [w for page in document["pages"] for block in page["blocks"] for line in block["lines"]
             for w in line["words"]]
    if provider in BOXED:
        assert words and all(w["bbox"] is not None for w in words)
