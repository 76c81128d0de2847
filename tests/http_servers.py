"""Real HTTP servers on 127.0.0.1 for tests: a werkzeug WSGI app in a thread, stopped on exit."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app: Callable, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `app`; yields its base URL (http://127.0.0.1:<port>, or https with `ssl_context`)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()
