"""OCR providers: the embedded engine and the REST providers, behind one interface."""
