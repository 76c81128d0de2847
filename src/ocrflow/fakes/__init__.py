"""Fake OCR providers: small HTTP servers on 127.0.0.1 that speak each provider's documented wire format,
limits and errors, with fault modes - and real OCR (the embedded engine) behind them."""
