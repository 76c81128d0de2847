"""ocrflow core: one library shared by the CLI, the Lambda handlers and the tests."""

from ocrflow.document import SCHEMA_VERSION, Document

__all__ = ["SCHEMA_VERSION", "Document", "__version__"]
__version__ = "0.1.0"
