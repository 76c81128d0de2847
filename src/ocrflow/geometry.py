"""Conversions from provider and engine coordinates to the normalized document's page fractions."""

from __future__ import annotations

from collections.abc import Sequence

from ocrflow.document import BBox, Point


def clamp01(value: float) -> float:
    if value != value:  # NaN
        return 0.0
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else float(value)


def bbox_from_rect(left: float, top: float, width: float, height: float, page_w: float, page_h: float) -> BBox:
    """A top-left-origin rectangle in page units (pixels, points) as page fractions, clamped to the page."""
    if page_w <= 0 or page_h <= 0:
        raise ValueError("page size must be positive")
    x0, x1 = sorted((clamp01(left / page_w), clamp01((left + width) / page_w)))
    y0, y1 = sorted((clamp01(top / page_h), clamp01((top + height) / page_h)))
    return BBox(x0=x0, y0=y0, x1=x1, y1=y1)


def union_boxes(boxes: Sequence[BBox | None]) -> BBox | None:
    """The smallest box holding every given box; None when there is none."""
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    return BBox(x0=min(b.x0 for b in present), y0=min(b.y0 for b in present),
                x1=max(b.x1 for b in present), y1=max(b.y1 for b in present))


def bbox_from_points(points: Sequence[Point]) -> BBox:
    return BBox(x0=min(p.x for p in points), y0=min(p.y for p in points),
                x1=max(p.x for p in points), y1=max(p.y for p in points))


def polygon_from_vertices(vertices: Sequence[tuple[float, float]], page_w: float, page_h: float) -> list[Point]:
    """Vertices in page units -> page fractions, reordered clockwise starting from the top-left vertex.

    Providers list corners in different orders (Yandex: TL, BL, BR, TR); we sort by angle around the centre
    (clockwise on screen, y down) and start from the vertex nearest the top-left.
    """
    import math

    pts = [(clamp01(x / page_w), clamp01(y / page_h)) for x, y in vertices]
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    pts.sort(key=lambda p: math.atan2(p[1] - cy, p[0] - cx))  # y down: increasing angle is clockwise
    start = min(range(len(pts)), key=lambda i: pts[i][0] + pts[i][1])
    ordered = pts[start:] + pts[:start]
    return [Point(x=x, y=y) for x, y in ordered]
