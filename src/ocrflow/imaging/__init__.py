"""Image geometry for OCR: finding and undoing a page's turn and skew, and mapping boxes back."""
