"""Deploy the CDK app in infra/ into the emulator with the pinned aws-cdk CLI - the same `cdk bootstrap` and
`cdk deploy` an operator runs against AWS, pointed at 127.0.0.1 by AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ocrflow.errors import ConfigError
from ocrflow.local.emulator import ACCOUNT, REGION, Emulator
from ocrflow.local.tools import REPO, LocalTools

STACK = "Ocrflow"


@dataclass(frozen=True)
class Deployment:
    uploads_bucket: str
    uploads_prefix: str
    results_bucket: str
    jobs_table: str
    state_machine: str
    quick_state_machine: str
    tenants_table: str
    api_url: str
    process_function: str

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Deployment:
        return cls(uploads_bucket=outputs["UploadsBucket"], uploads_prefix=outputs["UploadsPrefix"],
                   results_bucket=outputs["ResultsBucket"], jobs_table=outputs["JobsTable"],
                   state_machine=outputs["StateMachine"], quick_state_machine=outputs["QuickStateMachine"],
                   tenants_table=outputs["TenantsTable"],
                   api_url=outputs["ApiUrl"], process_function=outputs["ProcessFunction"])

    def api_base(self, emulator_endpoint: str) -> str:
        """The API's base URL on the emulator: its path-style execute-api route (AWS's host name,
        <id>.execute-api.<region>.amazonaws.com, does not resolve here)."""
        host, _, stage = self.api_url.removeprefix("https://").partition("/")
        return f"{emulator_endpoint}/_aws/execute-api/{host.split('.', 1)[0]}/{stage.strip('/')}"


def cdk_env(emulator: Emulator) -> dict[str, str]:
    env = {**os.environ, **emulator.client_env(),
           "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",  # nothing leaves the machine
           "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
           "CDK_DEFAULT_ACCOUNT": ACCOUNT, "CDK_DEFAULT_REGION": REGION}
    env.pop("CDK_CONTEXT_JSON", None)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, log: Path, what: str) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(args)}\n".encode())
        out.flush()
        done = subprocess.run(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                              stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ConfigError(f"{what} failed (exit {done.returncode}); log {log}:\n{tail}")


COMMON_ARGS = ["--no-notices", "--no-color", "--ci"]
#: the ports the local stack's webhook receivers (tests, demos) listen on: below Linux's ephemeral range
#: (32768-60999), so neither the emulator nor anything else bound to port 0 is ever given one of them
WEBHOOK_RECEIVER_PORTS = range(28080, 28100)
#: where the local stack may call back over plain http: the receivers' ports on loopback, nothing else - and
#: no source_url exemption at all, or a job could fetch from the emulator itself (another tenant's results)
LOCAL_CALLBACK_HOSTS = f"127.0.0.1:{WEBHOOK_RECEIVER_PORTS[0]}-{WEBHOOK_RECEIVER_PORTS[-1]}"


#: the local stack's URL settings (cdk context): its webhook receivers live on loopback, over plain http
LOCAL_URL_CONTEXT = {"ocrflow:urlAllowHttp": "true", "ocrflow:callbackAllowedHosts": LOCAL_CALLBACK_HOSTS}


def free_receiver_port() -> int:
    """A port of WEBHOOK_RECEIVER_PORTS that nothing listens on now, for a webhook receiver on 127.0.0.1."""
    for port in WEBHOOK_RECEIVER_PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ConfigError(f"every webhook receiver port ({LOCAL_CALLBACK_HOSTS}) is taken")


def bootstrap(emulator: Emulator, tools: LocalTools) -> None:
    """`cdk bootstrap` of the emulator's account, once per emulator (run from a folder without cdk.json: it
    needs no synthesis of the app)."""
    tools.work_dir.mkdir(parents=True, exist_ok=True)
    _run([str(tools.cdk), "bootstrap", f"aws://{ACCOUNT}/{REGION}", *COMMON_ARGS], cdk_env(emulator),
         tools.work_dir, tools.work_dir / "cdk.log", "cdk bootstrap")


def deploy(emulator: Emulator, tools: LocalTools, *, provider: str = "auto", route: str = "",
           provider_secrets: dict[str, str] | None = None, context: dict[str, str] | None = None) -> Deployment:
    """`cdk deploy` of the Ocrflow stack into the bootstrapped emulator, with the layer built for it; `context`:
    more `-c` settings (e.g. `ocrflow:jobDeadlineSeconds`)."""
    work = tools.work_dir
    # no second-engine function: its container image needs a Docker engine to build, and the emulator runs zip
    # functions (the local stack's Lambda functions read with Tesseract and its cleaned look)
    settings = {"ocrflow:layerDir": str(tools.layer_dir.resolve()), "ocrflow:provider": provider,
                "ocrflow:route": route, "ocrflow:secondEngine": "off",
                **LOCAL_URL_CONTEXT}
    context = {**settings, **(context or {})}
    if provider_secrets:
        context["ocrflow:providerSecrets"] = ",".join(f"{name}={secret}" for name, secret in provider_secrets.items())
    outputs_file = work / "outputs.json"
    outputs_file.unlink(missing_ok=True)
    args = [str(tools.cdk), "deploy", STACK, "--require-approval", "never", *COMMON_ARGS,
            "--app", f"{tools.app_python} infra/app.py", "--output", str(work / "cdk.out"),
            "--outputs-file", str(outputs_file)]
    for key, value in context.items():
        args += ["--context", f"{key}={value}"]
    _run(args, cdk_env(emulator), REPO, work / "cdk.log", "cdk deploy")
    return Deployment.from_outputs(json.loads(outputs_file.read_text())[STACK])
