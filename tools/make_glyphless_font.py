"""Build src/ocrflow/pdf/glyphless.ttf: a TrueType font whose glyphs are all empty and 500 units wide.

The searchable-PDF text layer draws OCR words in this font in render mode 3 (invisible); what matters is the
advance width, which spreads each word's characters across its box. Same idea as Tesseract's pdf.ttf.
Run once when the font needs to change:  .venv/bin/python tools/make_glyphless_font.py   (needs fonttools)
"""

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

OUT = Path(__file__).resolve().parents[1] / "src" / "ocrflow" / "pdf" / "glyphless.ttf"


def main() -> None:
    builder = FontBuilder(unitsPerEm=1000, isTTF=True)
    names = [".notdef", "glyph"]
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({0x20: "glyph"})
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({name: empty for name in names})
    builder.setupHorizontalMetrics({name: (500, 0) for name in names})
    builder.setupHorizontalHeader(ascent=1000, descent=0)
    builder.setupNameTable({"familyName": "GlyphLessFont", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=1000, sTypoDescender=0, usWinAscent=1000, usWinDescent=0)
    builder.setupPost()
    builder.save(str(OUT))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
