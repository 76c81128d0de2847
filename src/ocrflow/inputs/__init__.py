"""The documents ocrflow takes in: what a file is and its pages (`inspection`), the limits it must fit
(`limits`), and the page images OCR reads (`raster`)."""
