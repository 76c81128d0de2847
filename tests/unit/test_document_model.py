import json

import pytest
from pydantic import ValidationError

from ocrflow.document import BBox, Document, Page, ProviderInfo, Source, Word, document_json_schema_text
from tests.conftest import REPO


def test_committed_json_schema_matches_the_model():
    committed = (REPO / "schemas" / "document.v1.schema.json").read_text(encoding="utf-8")
    assert committed == document_json_schema_text(), "run `make schema` and commit schemas/document.v1.schema.json"


def test_schema_declares_version_and_nullable_confidence():
    schema = json.loads(document_json_schema_text())
    assert schema["properties"]["schema_version"]["const"] == "1.0"
    confidence = schema["$defs"]["Word"]["properties"]["confidence"]
    assert {"type": "null"} in confidence["anyOf"]


@pytest.mark.parametrize("box", [dict(x0=0.5, y0=0, x1=0.4, y1=1), dict(x0=0, y0=0, x1=1.2, y1=1),
                                 dict(x0=-0.1, y0=0, x1=1, y1=1)])
def test_bbox_rejects_boxes_outside_the_page_or_inverted(box):
    with pytest.raises(ValidationError):
        BBox(**box)


def test_confidence_must_be_a_fraction_or_null():
    assert Word(text="a", confidence=None).confidence is None
    with pytest.raises(ValidationError):
        Word(text="a", confidence=95)


def test_document_round_trips_through_json():
    page = Page(index=0, width=612, height=792, text="hi", blocks=[])
    doc = Document(
        provider=ProviderInfo(name="tesseract"), pages=[page], text="hi",
        source=Source(media_type="application/pdf", bytes=3, sha256="0" * 64, page_count=1),
    )
    assert Document.model_validate_json(doc.model_dump_json()) == doc
