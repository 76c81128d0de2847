"""`ocrflow api` stopped as services are stopped (SIGTERM) or by its terminal closing (SIGHUP) cleans up as
Ctrl-C does: the emulator, its Lambda workers and its temporary folder are gone when the command exits."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ocrflow.local.emulator import process_group_members

pytestmark = pytest.mark.e2e


def emulator_pid(temp_dir: Path) -> int:
    """The emulator: the process started with its own temporary folder as TMPDIR."""
    wanted = f"TMPDIR={temp_dir.resolve()}".encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            started_there = wanted in environ.read_bytes().split(b"\0")
            if started_there and b"ministack" in (environ.parent / "cmdline").read_bytes():
                return int(environ.parent.name)
        except OSError:
            continue
    raise AssertionError(f"no emulator process with TMPDIR={temp_dir}")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_ends_the_emulator_and_its_workers_and_removes_the_temporary_folder(tmp_path, stop):
    env = {**os.environ, "OCRFLOW_LOCAL_WORK": str(tmp_path)}
    command = subprocess.Popen([sys.executable, "-m", "ocrflow.cli", "api"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in command.stdout], daemon=True).start()
    printed, deadline, emulator = "", time.monotonic() + 600, None
    try:
        while "stops everything" not in printed:
            assert command.poll() is None, command.stderr.read()
            assert time.monotonic() < deadline, printed
            try:
                printed += lines.get(timeout=1)
            except queue.Empty:
                continue
        base = re.search(r"API base URL:\s+(\S+)", printed).group(1)
        key = re.search(r"test API key:\s+(\S+)", printed).group(1)
        assert httpx.get(f"{base}/v1/jobs", headers={"X-Api-Key": key}, timeout=120).status_code == 200
        [temp_dir] = tmp_path.glob("emulator-tmp-*")
        emulator = emulator_pid(temp_dir)
        started = process_group_members(emulator)
        assert len(started) >= 2, started  # the emulator and the API function's Lambda worker

        command.send_signal(stop)
        assert command.wait(60) == 128 + stop
        assert f"stopped by {stop.name}" in command.stderr.read()
        assert process_group_members(emulator) == set()
        assert not temp_dir.exists()
    finally:  # whatever the outcome, leave nothing running
        if command.poll() is None:
            command.kill()
        if emulator is not None and process_group_members(emulator):
            os.killpg(emulator, signal.SIGKILL)
