"""The committed OpenAPI document is the one the routes generate."""

import json

from ocrflow.api.app import openapi_document
from tests.conftest import REPO


def test_committed_openapi_matches_the_routes():
    committed = (REPO / "schemas" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_document(), "run `make schema` and commit schemas/openapi.json"


def test_every_operation_needs_the_api_key_and_documents_its_json_errors():
    spec = json.loads(openapi_document())
    assert spec["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert spec["security"] == [{"apiKey": []}]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "422", "429", "500"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
