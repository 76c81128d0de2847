"""The local stack, deployed once for every end-to-end test (`make test` runs them in one process)."""

from __future__ import annotations

import pytest

from ocrflow.local.api import api_key_for
from ocrflow.local.stack import local_stack
from ocrflow.local.tools import LocalTools
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.routing import AUTO
from tests.iam import StackCalls

#: the deployment's route: pdfmage first - its fake has no balance left, so every job is passed to the
#: embedded engine (the first one after pdfmage's 402, the next ones because pdfmage is marked exhausted)
E2E_ROUTE = "pdfmage:0.01"
#: documents of more than 3 pages fan out over ranges of 3 (every sample the other tests use has 1-3 pages)
E2E_RANGE_PAGES = 3


@pytest.fixture(scope="session")
def stack_calls() -> StackCalls:
    """Every AWS call the local stack's Python functions make, checked against their deployed roles."""
    return StackCalls(LocalTools.from_env().work_dir / "iam-calls")


@pytest.fixture(scope="session")
def stack(stack_calls):
    with local_stack(AUTO, E2E_ROUTE, fake_options={ProviderName.PDFMAGE: {"balance": "0"}},
                     context={"ocrflow:rangePages": str(E2E_RANGE_PAGES)},
                     emulator_environment=stack_calls.environment(), watchers=[stack_calls]) as deployed:
        yield deployed
        stack_calls.check()
        stack_calls.write_summary()


@pytest.fixture(autouse=True)
def _roles_allow_every_call(request):
    """After each test that used the stack: the calls its functions made are ones their roles allow."""
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack_calls").check()


@pytest.fixture(scope="session")
def api_endpoint(stack) -> tuple[str, str]:
    """(API base URL, an API key) of the local stack."""
    return stack.api_base, api_key_for(stack, "e2e-web")
