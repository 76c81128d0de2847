"""The normalized document in the formats other tools read: hOCR (`hocr.py`) and ALTO v4 XML (`alto.py`);
`kinds.py` names every output a job can ask for.

Both place boxes in the page's pixel space (`page_pixels`): an image page's own pixels; a PDF page's pixels at
the resolution it was read at (`Page.dpi`), or its points where it was not rendered (a text page read as it is).
"""
