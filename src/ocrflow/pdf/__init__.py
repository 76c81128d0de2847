"""PDF handling: text extraction from PDFs that carry text, and the searchable-PDF builder."""
