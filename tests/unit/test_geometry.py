import math

from hypothesis import given
from hypothesis import strategies as st

from ocrflow.geometry import bbox_from_rect, clamp01, polygon_from_vertices
from ocrflow.pdf.page_geometry import DisplayFrame

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive = st.floats(min_value=1, max_value=1e5, allow_nan=False)


@given(finite, finite, finite, finite, positive, positive)
def test_any_provider_rectangle_becomes_a_valid_box_on_the_page(left, top, width, height, page_w, page_h):
    box = bbox_from_rect(left, top, width, height, page_w, page_h)
    assert 0 <= box.x0 <= box.x1 <= 1 and 0 <= box.y0 <= box.y1 <= 1


@given(st.floats(allow_nan=True))
def test_clamp_always_lands_in_unit_interval(value):
    assert 0.0 <= clamp01(value) <= 1.0


@given(st.permutations([0, 1, 2, 3]), st.floats(0, 500), st.floats(0, 500), st.floats(5, 400), st.floats(5, 400))
def test_polygon_order_is_clockwise_from_top_left_whatever_the_provider_order(order, x, y, w, h):
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]  # TL, TR, BR, BL
    polygon = polygon_from_vertices([corners[i] for i in order], 1000, 1000)
    got = [(round(p.x * 1000, 6), round(p.y * 1000, 6)) for p in polygon]
    assert got == [(round(cx, 6), round(cy, 6)) for cx, cy in corners]


def test_yandex_vertex_order_tl_bl_br_tr_is_reordered():
    polygon = polygon_from_vertices([(10, 10), (10, 20), (50, 20), (50, 10)], 100, 100)
    assert [(p.x, p.y) for p in polygon] == [(0.1, 0.1), (0.5, 0.1), (0.5, 0.2), (0.1, 0.2)]


@given(st.sampled_from([0, 90, 180, 270]), st.floats(-500, 500), st.floats(-500, 500), positive, positive,
       st.floats(0, 1), st.floats(0, 1))
def test_display_frame_maps_fractions_to_user_space_and_back(rotation, left, bottom, width, height, u, v):
    frame = DisplayFrame(left, bottom, left + width, bottom + height, rotation)
    dw, dh = frame.display_size
    a, b, c, d, e, f = frame.display_to_user()
    dx, dy = u * dw, (1 - v) * dh
    x, y = a * dx + c * dy + e, b * dx + d * dy + f
    assert left - 1e-6 <= x <= left + width + 1e-6 and bottom - 1e-6 <= y <= bottom + height + 1e-6
    back = frame.user_to_fraction(x, y)
    assert math.isclose(back[0], u, abs_tol=1e-6) and math.isclose(back[1], v, abs_tol=1e-6)


def test_rotate_90_puts_display_top_left_at_user_bottom_left():
    frame = DisplayFrame(0, 0, 600, 800, 90)
    assert frame.user_to_fraction(0, 0) == (0.0, 0.0)
    assert frame.display_size == (800, 600)
