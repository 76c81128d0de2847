"""The local stack, deployed once for every end-to-end test (`make test` runs them in one process)."""

from __future__ import annotations

import pytest

from ocrflow.local.api import api_key_for
from ocrflow.local.stack import local_stack
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.routing import AUTO

#: the deployment's route: pdfmage first - its fake has no balance left, so every job is passed to the
#: embedded engine (the first one after pdfmage's 402, the next ones because pdfmage is marked exhausted)
E2E_ROUTE = "pdfmage:0.01"
#: documents of more than 3 pages fan out over ranges of 3 (every sample the other tests use has 1-3 pages)
E2E_RANGE_PAGES = 3


@pytest.fixture(scope="session")
def stack():
    with local_stack(AUTO, E2E_ROUTE, fake_options={ProviderName.PDFMAGE: {"balance": "0"}},
                     context={"ocrflow:rangePages": str(E2E_RANGE_PAGES)}) as deployed:
        yield deployed


@pytest.fixture(scope="session")
def api_endpoint(stack) -> tuple[str, str]:
    """(API base URL, an API key) of the local stack."""
    return stack.api_base, api_key_for(stack, "e2e-web")
