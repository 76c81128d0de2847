"""A small static server for the web page in `web/`: the page, a generated `/config.json` and pdf.js.

The page is plain ES modules with no build step. pdf.js comes from the npm package pdfjs-dist (package.json)
and is served from `node_modules/` under `/vendor/pdfjs/` - nothing is fetched from the internet. The server
binds to loopback only: it is for trying the page against an API and for the browser tests, not for hosting.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ocrflow.errors import ConfigError
from ocrflow.local.tools import REPO

log = logging.getLogger(__name__)

PDFJS_PACKAGE = REPO / "node_modules" / "pdfjs-dist"
CONFIG_PATH = "/config.json"

#: what the page asks for under /vendor/pdfjs/ -> the package's folder that holds it (the rest is build/)
_PDFJS_FOLDERS = ("cmaps", "standard_fonts", "wasm", "iccs")

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".bcmap": "application/octet-stream",
    ".pfb": "application/octet-stream",
    ".ttf": "font/ttf",
    ".icc": "application/vnd.iccprofile",
}


def find_web_root() -> Path:
    """The repository's `web/` folder (the package runs from the repository)."""
    root = REPO / "web"
    if not (root / "index.html").is_file():
        raise ConfigError(f"the web page is missing: no {root / 'index.html'}")
    return root


class _Handler(SimpleHTTPRequestHandler):
    # set per server by serve_web (functools.partial)
    mounts: list[tuple[str, Path]]
    config_body: bytes

    def __init__(self, *args: Any, mounts: list[tuple[str, Path]], config_body: bytes, **kwargs: Any) -> None:
        self.mounts = mounts
        self.config_body = config_body
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if self._is_config():
            self._send_config(head=False)
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._is_config():
            self._send_config(head=True)
        else:
            super().do_HEAD()

    def _is_config(self) -> bool:
        return urlsplit(self.path).path == CONFIG_PATH

    def _send_config(self, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.config_body)))
        self.end_headers()
        if not head:
            self.wfile.write(self.config_body)

    def translate_path(self, path: str) -> str:
        """URL path -> file under the longest matching mount; anything that leaves its mount gets a 404."""
        url_path = unquote(urlsplit(path).path)
        for prefix, root in self.mounts:
            if url_path == prefix.rstrip("/") or url_path.startswith(prefix):
                relative = url_path[len(prefix):].lstrip("/") or "index.html"
                target = (root / relative).resolve()
                if target.is_relative_to(root.resolve()) and target.is_file():
                    return str(target)
                break
        return str(Path("/nonexistent") / "404")

    def guess_type(self, path: str | Path) -> str:
        return _TYPES.get(Path(path).suffix.lower(), "application/octet-stream")

    def list_directory(self, path: str | Path) -> None:
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def end_headers(self) -> None:
        # the page is edited while the server runs; and a browser must not guess types
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("web %s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _mounts(directory: Path, pdfjs_package: Path) -> list[tuple[str, Path]]:
    mounts = [(f"/vendor/pdfjs/{folder}/", pdfjs_package / folder) for folder in _PDFJS_FOLDERS]
    mounts += [("/vendor/pdfjs/", pdfjs_package / "build"), ("/", directory)]
    return mounts


def serve_web(directory: Path | str, config: dict, host: str = "127.0.0.1", port: int = 0,
              *, pdfjs_package: Path | str = PDFJS_PACKAGE) -> tuple[ThreadingHTTPServer, str]:
    """Serve `directory` (the page), `/config.json` made from `config` and pdf.js, on a loopback address.

    Returns the running server and its base URL (ending in "/"); stop it with `server.shutdown()` and
    `server.server_close()`. port 0 picks a free port.
    """
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the web server binds to loopback only, not {host!r}")
    directory, pdfjs_package = Path(directory), Path(pdfjs_package)
    if not (pdfjs_package / "build" / "pdf.min.mjs").is_file():
        log.warning("pdf.js is missing (%s): PDFs will not be shown - run `npm ci`", pdfjs_package)
    handler = partial(_Handler, mounts=_mounts(directory, pdfjs_package),
                      config_body=json.dumps(config).encode())
    server = (_Server6 if ":" in host else _Server)((host, port), handler)
    threading.Thread(target=server.serve_forever, name="ocrflow-web", daemon=True).start()
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    return server, f"http://{shown}:{bound_port}/"
