"""Real HTTP servers on 127.0.0.1 for tests: a werkzeug WSGI app in a thread, stopped on exit."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app: Callable, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> Iterator[str]:
    """Serve `app`; yields its base URL (http://127.0.0.1:<port>, or https with `ssl_context`)."""
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()


class TricklingServer:
    """A raw HTTP server on 127.0.0.1 that answers every request a byte at a time, every `interval` seconds:
    the status line and headers (`part="headers"`) or, after prompt headers, the body (`part="body"`), each
    for at most `for_seconds`, then finishes the answer (200, "ok") - so a client without an overall deadline
    ends up with a success instead of hanging the test. `requests` counts the requests that arrived."""

    def __init__(self, part: str = "headers", interval: float = 0.1, for_seconds: float = 8.0) -> None:
        self.part, self.interval, self.for_seconds = part, interval, for_seconds
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                received += chunk
            self.requests += 1
            body = b"ok" * 1000
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: {len(body)}\r\n" \
                   "X-Padding: " + "x" * 1000 + "\r\n\r\n"
            slow, fast = (head.encode(), body) if self.part == "headers" else (body, head.encode())
            try:
                if self.part == "body":
                    connection.sendall(fast)
                ends = time.monotonic() + self.for_seconds
                sent = 0
                while sent < len(slow) and time.monotonic() < ends and not self._stopping.is_set():
                    connection.sendall(slow[sent:sent + 1])
                    sent += 1
                    time.sleep(self.interval)
                connection.sendall(slow[sent:])
                if self.part == "headers":
                    connection.sendall(fast)
            except OSError:
                return

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()


@contextmanager
def trickling(part: str = "headers", interval: float = 0.1, for_seconds: float = 8.0) -> Iterator[TricklingServer]:
    server = TricklingServer(part, interval, for_seconds)
    try:
        yield server
    finally:
        server.close()
