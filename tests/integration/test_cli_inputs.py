"""`ocrflow ocr` on paths that are not ordinary documents: each gets its typed error at once, without reading
more than the input limit - run as a real subprocess under an address-space limit, so reading a huge file
whole would fail, and with a time-out, so a read that blocks fails the test instead of hanging it."""

import ctypes
import os
import resource
import subprocess
import sys

from tests.conftest import SAMPLES

MEMORY_LIMIT = 1024 * 2**20  # the CLI OCRs a page well within this; a 3 GB file read whole does not fit


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def drop_root_file_access():
    """Root reads any file: take away the capabilities that let it (dropped from the bounding set before exec,
    so the CLI starts without them), as an ordinary user meets a file it may not read."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_cli(*args, env=None, as_user=False):
    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if as_user and os.getuid() == 0:
            drop_root_file_access()

    return subprocess.run([sys.executable, "-m", "ocrflow.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env, preexec_fn=limit_memory)


def stderr_lines(result):
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()


def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)  # no writer: reading it would wait forever
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    result = run_cli("ocr", fifo, "/dev/zero", folder, SAMPLES / "receipt.png", "-o", tmp_path / "out")
    assert result.returncode == 1
    lines = stderr_lines(result)
    assert len(lines) == 3, result.stderr
    for path, kind, line in zip((fifo, "/dev/zero", folder), ("FIFO", "character device", "directory"), lines,
                                strict=True):
        assert line.startswith(f"ocrflow: {path}: ") and kind in line and line.endswith("[not_a_file]")
    assert "receipt.png -> receipt.json" in result.stdout  # the good input of the same run is still OCRed


def test_a_file_over_the_limit_is_refused_without_being_read(tmp_path):
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as file:
        file.truncate(3 * 2**30)  # sparse: 3 GB by its size, no disk used
    result = run_cli("ocr", huge, "-o", tmp_path / "out")
    assert result.returncode == 1
    assert stderr_lines(result) == [
        f"ocrflow: {huge}: the file is 3,221,225,472 bytes; the limit is 209,715,200 bytes [file_too_large]"]
    assert not (tmp_path / "out").exists()


def test_the_limit_is_the_one_set_in_the_environment(tmp_path):
    size = (SAMPLES / "receipt.png").stat().st_size
    result = run_cli("ocr", SAMPLES / "receipt.png", "-o", tmp_path, env={**os.environ, "OCRFLOW_MAX_BYTES": "1000"})
    assert result.returncode == 1
    assert stderr_lines(result) == [
        f"ocrflow: {SAMPLES / 'receipt.png'}: the file is {size:,} bytes; the limit is 1,000 bytes [file_too_large]"]
    bad = run_cli("ocr", SAMPLES / "receipt.png", "-o", tmp_path, env={**os.environ, "OCRFLOW_MAX_BYTES": "lots"})
    assert bad.returncode == 1
    [line] = stderr_lines(bad)
    assert "OCRFLOW_MAX_BYTES" in line and line.endswith("[config_error]")


def test_missing_and_unreadable_files_are_named(tmp_path):
    locked = tmp_path / "locked.png"
    locked.write_bytes((SAMPLES / "receipt.png").read_bytes())
    os.chmod(locked, 0)
    result = run_cli("ocr", tmp_path / "missing.png", locked, "-o", tmp_path / "out", as_user=True)
    assert result.returncode == 1
    assert stderr_lines(result) == [f"ocrflow: {tmp_path / 'missing.png'}: no such file [not_found]",
                                    f"ocrflow: {locked}: permission denied [unreadable]"]
