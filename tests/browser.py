"""A headless Chromium for the browser tests: Debian's `chromium` (make system-test-deps installs it) driven by
Playwright for Python. `playwright install` is never run - it downloads browser builds of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("OCRFLOW_CHROMIUM") or "/usr/bin/chromium")

CHROMIUM_ARGS = [
    "--headless",                       # no display here; Chromium's own (new) headless mode
    "--no-sandbox",                     # the tests may run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",                    # no GPU: software rendering only, without probing for one
    "--disable-quic",                   # plain TCP/HTTP only, no UDP: the tests talk to loopback servers
    "--no-first-run",                   # no first-run dialogs or welcome page in the fresh profile
    "--disable-background-networking",  # no safe-browsing, variations or other calls home: nothing leaves
    "--disable-component-update",       # the machine; no component downloads (CRLSets, Widevine, ...)
    "--disable-sync",                   # no Google account sync
]


@contextmanager
def launch_chromium(*, timeout_ms: float = 60_000) -> Iterator[Browser]:
    """A headless Chromium, closed on exit. Each launch gets a fresh, empty profile (Playwright makes a
    temporary user-data-dir for `launch` and removes it on close), so no state carries over between runs."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"no Chromium at {CHROMIUM}: run `make system-test-deps` (apt package chromium) "
                                "or point OCRFLOW_CHROMIUM at a Chromium binary")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                             timeout=timeout_ms)
        try:
            yield browser
        finally:
            browser.close()
