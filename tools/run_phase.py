"""One setup phase of the Makefile, said as it happens: a line naming it, then while the command runs a status
line (seconds so far and, for pip, how many packages it has collected), then how long it took. The command's
own output goes to a log file and is shown only when it fails. Standard library only: it runs before any venv
exists.

    python3 tools/run_phase.py "Python packages into .venv (~2 min)" build/logs/venv.log -- pip install ...
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

#: pip's lines that mark one more package on its way (resolving, downloading, or found already there)
PACKAGE_LINE = re.compile(r"^(Collecting|Requirement already satisfied:|Processing) ")
TAIL_LINES = 40
UPDATE_SECONDS = 1.0  # on a terminal; elsewhere (CI logs) a line every LOG_SECONDS
LOG_SECONDS = 30.0


def _took(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


class Status:
    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal
        self.started = time.monotonic()
        self.packages = 0
        self.done = threading.Event()

    def counted(self) -> str:
        return f"{self.packages} package{'s' if self.packages != 1 else ''}, " if self.packages else ""

    def line(self) -> str:
        return f"    ... {self.counted()}{_took(time.monotonic() - self.started)}"

    def keep_showing(self) -> None:
        every = UPDATE_SECONDS if self.terminal else LOG_SECONDS
        while not self.done.wait(every):
            if self.terminal:
                sys.stdout.write(f"\r{self.line()}\033[K")
            else:
                sys.stdout.write(self.line() + "\n")
            sys.stdout.flush()


def run_phase(title: str, log_path: Path, command: list[str]) -> int:
    print(f"==> {title}", flush=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    status = Status(sys.stdout.isatty())
    shower = threading.Thread(target=status.keep_showing, daemon=True)
    shower.start()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,  # noqa: S603
                                   errors="replace")
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if PACKAGE_LINE.match(line):
                status.packages += 1
        code = process.wait()
    status.done.set()
    shower.join()
    if status.terminal:
        sys.stdout.write("\r\033[K")
    if code != 0:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        print("\n".join(lines[-TAIL_LINES:]))
        print(f"    FAILED (exit {code}) after {_took(time.monotonic() - status.started)}; whole output in {log_path}")
        return code
    print(f"    done: {status.counted()}{_took(time.monotonic() - status.started)} (log: {log_path})", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    return run_phase(argv[0], Path(argv[1]), argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
