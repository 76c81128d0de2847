import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrflow.imaging.alignment import Alignment, back_mapping, estimate_alignment, upright
from ocrflow.samples import PARAGRAPHS, PageSpec, render_page


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return render_page(PageSpec(PARAGRAPHS[:3], title="Alignment", dpi=150, height_in=6))


@pytest.mark.parametrize("skew", [-4.0, -2.8, -1.0, 1.5, 2.8, 5.0])
def test_skew_is_measured_within_a_few_tenths_of_a_degree(page, skew):
    tilted = page.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    found = estimate_alignment(tilted)
    assert found.turn == 0
    assert found.skew == pytest.approx(-skew, abs=0.3)
    assert abs(estimate_alignment(upright(tilted, found)).skew) <= 0.3


def test_page_turned_sideways_is_detected(page):
    assert estimate_alignment(page.rotate(-90, expand=True)).turn == 90
    assert estimate_alignment(page).turn == 0


def test_a_large_solid_shape_does_not_outweigh_the_text():
    """A disc filling half the page above one line of text: upright, no skew."""
    image = Image.new("L", (750, 600), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse((225, 75, 525, 375), fill=64)
    draw.text((110, 440), "This should be a perfect circle.", fill=0, font=ImageFont.load_default(size=22))
    assert estimate_alignment(image).is_identity


def test_blank_page_needs_no_alignment():
    assert estimate_alignment(Image.new("L", (800, 1000), 255)).is_identity


@pytest.mark.parametrize("alignment", [Alignment(90, 0.0), Alignment(180, 0.0), Alignment(270, 0.0),
                                       Alignment(0, 3.0), Alignment(90, -2.0)])
def test_boxes_found_on_the_uprighted_image_map_back_onto_the_original(alignment):
    original = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(original).rectangle((50, 60, 53, 63), fill=0)
    rotated = upright(original, alignment)
    ys, xs = np.nonzero(np.asarray(rotated) < 128)
    x, y = back_mapping(original, rotated, alignment).point(xs.mean() + 0.5, ys.mean() + 0.5)
    assert x == pytest.approx(52, abs=1.0) and y == pytest.approx(62, abs=1.0)
