"""Lambda handlers as Lambda calls them: loaded from functions/<name>/app.py, given a Lambda context, every AWS
call they make checked against the function's role as the CDK app synthesizes it (tests/iam.py)."""

import importlib.util
from dataclasses import dataclass

from tests.conftest import REPO
from tests.iam import checked


@dataclass
class Context:
    function_name: str = "ocrflow-test"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ocrflow-test"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def load(step: str, iam: bool = True):
    spec = importlib.util.spec_from_file_location(f"handler_{step}", REPO / "functions" / step / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # its AWS calls checked against the function's synthesized role (not in the cost model: it times the calls)
    return checked(step, module.handler) if iam else module.handler
