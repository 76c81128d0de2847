"""Where a displayed page sits in PDF user space.

The normalized document measures boxes on the page as displayed: the crop box turned by /Rotate, origin
top-left. PDF content lives in user space (origin bottom-left, before /Rotate). `DisplayFrame` converts.
"""

from __future__ import annotations

from dataclasses import dataclass

Matrix = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class DisplayFrame:
    left: float      # crop box, user space
    bottom: float
    right: float
    top: float
    rotation: int    # /Rotate, clockwise degrees, one of 0/90/180/270

    @property
    def display_size(self) -> tuple[float, float]:
        width, height = self.right - self.left, self.top - self.bottom
        return (height, width) if self.rotation in (90, 270) else (width, height)

    def display_to_user(self) -> Matrix:
        """Matrix taking display points (origin bottom-left of the displayed page) to user space."""
        left, bottom, right, top = self.left, self.bottom, self.right, self.top
        return {
            0: (1.0, 0.0, 0.0, 1.0, left, bottom),
            90: (0.0, 1.0, -1.0, 0.0, right, bottom),
            180: (-1.0, 0.0, 0.0, -1.0, right, top),
            270: (0.0, -1.0, 1.0, 0.0, left, top),
        }[self.rotation]

    def user_to_fraction(self, x: float, y: float) -> tuple[float, float]:
        """A user-space point as fractions of the displayed page, origin top-left."""
        a, b, c, d, e, f = self.display_to_user()
        # invert the (orthonormal) rotation part
        ux, uy = x - e, y - f
        dx, dy = a * ux + b * uy, c * ux + d * uy
        width, height = self.display_size
        return dx / width, 1.0 - dy / height


def normalize_rotation(value: object) -> int:
    try:
        return int(value) % 360 // 90 * 90  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
