"""The cleaned copy a weak page gets a second reading of: binary, the same size, text kept as ink and an
unevenly lit or speckled background made paper."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrflow.imaging.cleanup import cleaned


def page_with_text(background: np.ndarray) -> tuple[Image.Image, np.ndarray]:
    """Dark text drawn over `background`; returns the page and where the text's strokes are."""
    image = Image.fromarray(background.astype(np.uint8))
    mask = Image.new("L", image.size, 0)
    font = ImageFont.load_default(size=40)
    for row in range(4):
        ImageDraw.Draw(mask).text((40, 40 + row * 90), "The quick brown fox 1234", fill=255, font=font)
    strokes = np.asarray(mask) > 128
    pixels = np.asarray(image).copy()
    pixels[strokes] = np.clip(pixels[strokes].astype(int) - 110, 0, 255)
    return Image.fromarray(pixels), strokes


def test_text_over_a_shaded_speckled_background_comes_out_black_on_white():
    rng = np.random.default_rng(7)
    height, width = 420, 700
    shade = np.linspace(235, 150, width)[None, :].repeat(height, axis=0)  # lit from the left
    page, strokes = page_with_text(shade + rng.normal(0, 6, (height, width)))
    speckled = np.asarray(page).copy()
    dust = rng.random((height, width)) < 0.01
    speckled[dust] = 0  # salt-and-pepper's pepper
    out = cleaned(Image.fromarray(speckled), dpi=300)
    pixels = np.asarray(out)
    assert out.size == page.size and out.mode == "L" and set(np.unique(pixels)) <= {0, 255}
    assert (pixels[strokes] == 0).mean() > 0.85              # the strokes stay ink
    paper = ~strokes & ~dust
    assert (pixels[paper] == 255).mean() > 0.97              # the shading is paper, on its dark side too
    assert (pixels[dust & ~strokes] == 255).mean() > 0.9     # lone specks go


def test_a_blank_page_stays_blank():
    out = cleaned(Image.new("L", (300, 200), 200), dpi=None)
    assert (np.asarray(out) == 255).all()
