"""An ordinary stop - Ctrl-C, SIGTERM (kill, systemd, docker stop), SIGHUP (the terminal closed) - ends every
command the same way: as KeyboardInterrupt, so the `with` blocks and `finally`s unwind and clean up (the
emulator's process group and temporary folder, half-written outputs). Python's default for SIGTERM and SIGHUP
ends the process at once, leaving all that behind. Once a stop has begun, further signals are ignored so the
clean-up itself is not cut short (it is bounded: the emulator gets 10 s, then SIGKILL)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal, raised where the main thread was. A KeyboardInterrupt, so it takes Ctrl-C's path."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP


def _stop(signum: int, frame: FrameType | None) -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def stop_signals_unwind() -> Iterator[None]:
    """While inside, Ctrl-C, SIGTERM and SIGHUP raise `Stopped`; the previous handlers are restored after."""
    previous = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
