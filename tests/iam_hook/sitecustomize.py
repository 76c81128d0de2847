"""Records every AWS call of a Lambda function the local stack's emulator runs, for tests/iam.py to check
against the function's role (the emulator enforces no IAM).

The end-to-end tests start the emulator with this folder on PYTHONPATH and OCRFLOW_TEST_IAM_CALLS naming a
folder; the emulator's Python Lambda workers inherit both, so Python imports this module at start-up. It waits
for botocore to be imported (the worker puts the function's layer on sys.path first), then records each API
call (`BaseClient._make_api_call`) and each presigned URL (S3 authorizes a presigned request with the signer's
role) as one JSON line: the function, the service, the operation and its parameters (bytes and streams as a
placeholder). It does nothing in a process that is not a Lambda worker, and a failure to record never fails a
call. Standard library only: it runs before the function's packages are on sys.path.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys

_FOLDER = os.environ.get("OCRFLOW_TEST_IAM_CALLS")
_FUNCTION = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


def _write(service: str, operation: str, params: object, presigned: bool = False) -> None:
    try:
        line = json.dumps({"function": _FUNCTION, "service": service, "operation": operation,
                           "params": params, "presigned": presigned},
                          default=lambda value: f"<{type(value).__name__}>")
        with open(os.path.join(_FOLDER, f"calls-{os.getpid()}.jsonl"), "a", encoding="utf-8") as out:
            out.write(line + "\n")
    except Exception:  # noqa: BLE001, S110 - recording must never fail the function's call
        pass


def _patch_client(module) -> None:  # noqa: ANN001 - botocore.client
    original = module.BaseClient._make_api_call

    def recorded(client, operation_name, api_params):  # noqa: ANN001, ANN202
        _write(client.meta.service_model.service_name, operation_name, api_params)
        return original(client, operation_name, api_params)

    module.BaseClient._make_api_call = recorded


def _patch_signers(module) -> None:  # noqa: ANN001 - botocore.signers
    original = module.generate_presigned_url  # looked up when each client class is made, so clients made later

    def recorded(client, ClientMethod, Params=None, ExpiresIn=3600, HttpMethod=None):  # noqa: ANN001, ANN202, N803
        operation = client.meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
        _write(client.meta.service_model.service_name, operation, Params or {}, presigned=True)
        return original(client, ClientMethod, Params=Params, ExpiresIn=ExpiresIn, HttpMethod=HttpMethod)

    module.generate_presigned_url = recorded


_PATCHES = {"botocore.client": _patch_client, "botocore.signers": _patch_signers}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when a module of _PATCHES is imported, it patches it right after it is executed."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201, ARG002
        if name not in _PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):  # noqa: ANN001, ANN202
            execute(module)
            _PATCHES[name](module)

        spec.loader.exec_module = exec_module
        return spec


if _FOLDER and _FUNCTION:
    sys.meta_path.insert(0, _PatchOnImport())
