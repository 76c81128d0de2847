"""The AWS emulator (ministack, pinned in the Makefile) as a child process on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from ocrflow.errors import ConfigError

ACCOUNT, REGION = "000000000000", "us-east-1"
ACCESS_KEY = SECRET_KEY = "test"  # the emulator accepts any credentials; these keep real ones out of reach


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_group_members(group: int) -> set[int]:
    """The running processes of a process group (zombies waiting to be reaped do not count)."""
    members = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.add(int(stat_file.parent.name))
    return members


class Emulator:
    """Start with `with Emulator(python, log) as emulator:`; everything it spawned (Lambda workers included)
    is stopped on exit. AWS clients reach it through `client()` or, in other processes, `client_env()`."""

    def __init__(self, python: Path, log_path: Path, port: int | None = None, ready_seconds: float = 90.0,
                 environment: dict[str, str] | None = None) -> None:
        self.python, self.log_path = python, log_path
        #: more variables for the emulator's process, which its Lambda workers inherit (the end-to-end tests
        #: record the functions' AWS calls that way)
        self.environment = dict(environment or {})
        self.port = port or free_port()
        self.ready_seconds = ready_seconds
        #: the emulator's temporary files: it unpacks every Lambda worker's code and layer (~250 MB) under
        #: TMPDIR and never removes them, so they get a folder of their own, deleted when the emulator stops
        self.temp_dir = log_path.parent / f"emulator-tmp-{self.port}"
        self._process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """What an AWS SDK or the cdk CLI needs to talk to the emulator instead of AWS."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}

    def client(self, service: str) -> Any:
        """A boto3 client of this emulator."""
        import boto3

        return boto3.client(service, **self._boto_args())

    def resource(self, service: str) -> Any:
        """A boto3 resource (a DynamoDB table, say) of this emulator."""
        import boto3

        return boto3.resource(service, **self._boto_args())

    def _boto_args(self) -> dict[str, str]:
        return {"endpoint_url": self.endpoint, "region_name": REGION, "aws_access_key_id": ACCESS_KEY,
                "aws_secret_access_key": SECRET_KEY}

    def start(self) -> Emulator:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.temp_dir.mkdir(parents=True)
        env = {**os.environ, "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(self.port), "MINISTACK_REGION": REGION,
               "LOG_LEVEL": "INFO", "MINISTACK_ACCOUNT_ID": ACCOUNT, "TMPDIR": str(self.temp_dir.resolve())}
        for leaked in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(leaked, None)
        env.update(self.environment)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our pinned interpreter, fixed arguments
                [str(self.python), "-m", "ministack"], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.log_path.parent, env=env, start_new_session=True)
        deadline = time.monotonic() + self.ready_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConfigError(f"the emulator exited at start (code {self._process.returncode}): "
                                  f"{self.log_tail()}")
            if self.healthy():
                return self
            time.sleep(0.3)
        self.stop()
        raise ConfigError(f"the emulator did not answer within {self.ready_seconds:.0f} s: {self.log_tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_ministack/health", timeout=2) as response:  # noqa: S310
                return "services" in json.loads(response.read())
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._stop_group(process)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    @staticmethod
    def _stop_group(process: subprocess.Popen) -> None:
        """SIGTERM to the emulator's process group (its Lambda workers too), SIGKILL to whatever is left of it
        after 10 s; returns once no process of the group is left (so none writes to the temporary folder)."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(0.1)  # reaps the emulator itself; its workers are reaped by whoever inherits them
                if not process_group_members(process.pid):
                    return

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
