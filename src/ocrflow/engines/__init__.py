"""Page engines: recognise the text on one page image. The embedded provider runs them page by page."""

from ocrflow.engines.base import PageEngine, RecognizedPage

__all__ = ["PageEngine", "RecognizedPage"]
