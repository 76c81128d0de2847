"""The local stack, deployed once for every end-to-end test (`make test` runs them in one process)."""

from __future__ import annotations

import pytest

from ocrflow.local.api import api_key_for
from ocrflow.local.stack import local_stack
from ocrflow.providers.names import ProviderName


@pytest.fixture(scope="session")
def stack():
    with local_stack(ProviderName.TESSERACT) as deployed:
        yield deployed


@pytest.fixture(scope="session")
def api_endpoint(stack) -> tuple[str, str]:
    """(API base URL, an API key) of the local stack."""
    return stack.api_base, api_key_for(stack, "e2e-web")
