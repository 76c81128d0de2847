"""The Makefile's setup phases (tools/run_phase.py) as make prints them: a line naming the phase before its
long silence, what it counted and how long it took after; on failure the output it had kept in its log."""

import subprocess
import sys

from tests.conftest import REPO


def run_phase(tmp_path, script):
    return subprocess.run([sys.executable, str(REPO / "tools" / "run_phase.py"), "Python packages (~2 min)",
                           str(tmp_path / "logs" / "pip.log"), "--", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=60)


def test_a_phase_is_named_first_and_says_what_it_did(tmp_path):
    pip_like = "for name in ('numpy', 'rich', 'httpx'): print(f'Collecting {name}', flush=True)"
    result = run_phase(tmp_path, pip_like)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "==> Python packages (~2 min)"
    assert lines[-1].startswith("    done: 3 packages, ") and lines[-1].endswith(f"(log: {tmp_path}/logs/pip.log)")
    assert "Collecting" not in result.stdout  # the command's own output is in the log, not on the screen
    assert (tmp_path / "logs" / "pip.log").read_text().splitlines() == [
        "Collecting numpy", "Collecting rich", "Collecting httpx"]


def test_a_failing_phase_shows_its_output_and_fails_make(tmp_path):
    result = run_phase(tmp_path, "import sys; print('ERROR: No matching distribution found for nosuch'); sys.exit(3)")
    assert result.returncode == 3
    assert "ERROR: No matching distribution found for nosuch" in result.stdout
    assert "FAILED (exit 3)" in result.stdout
