"""pdfium is not thread-safe: every call into it, from any thread, holds this lock."""

import threading

PDFIUM_LOCK = threading.RLock()
