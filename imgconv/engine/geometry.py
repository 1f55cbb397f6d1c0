"""Output geometry, in one place: the pads and the output shape of each ``size``.

``same`` keeps the input's shape (pads: the anchor above and left, the rest of the
kernel below and right); ``full`` is every overlap (``kh - 1`` and ``kw - 1`` on each
side); ``valid`` only positions where the kernel lies wholly inside (no pads).  The
engine's plan, the banded path and ``diff``'s interior/border split read it here
(docs/semantics.md §1, "Output size").
"""

from __future__ import annotations

from dataclasses import dataclass

from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel

Pads = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Geometry:
    """``pads`` ((top, bottom), (left, right)) of the extended image; ``out_shape``."""

    pads: Pads
    out_shape: tuple[int, int]


def pads(kernel: Kernel, size: str) -> Pads:
    """How far the image is extended on each side for ``kernel`` (as correlated) at
    ``size``: output ``(y, x)`` reads input rows ``y - top .. y - top + kh - 1``."""
    kh, kw = kernel.shape
    cy, cx = kernel.center
    if size == "same":
        return (cy, kh - 1 - cy), (cx, kw - 1 - cx)
    if size == "full":
        return (kh - 1, kh - 1), (kw - 1, kw - 1)
    return (0, 0), (0, 0)


def output_geometry(image_shape: tuple[int, ...], kernel: Kernel, size: str) -> Geometry:
    """The pads and output shape of correlating ``image_shape`` (H, W, ...) with
    ``kernel`` (as correlated: anchor included) at ``size``."""
    h, w = image_shape[:2]
    kh, kw = kernel.shape
    if size == "valid" and (kh > h or kw > w):
        raise ImgconvError(
            f"{{size[0]}} needs a kernel no larger than the image: kernel {kh}x{kw}, "
            f"image {h}x{w} (use {{size[1]}} or {{size[2]}})",
            values={"size": ("valid", "same", "full")})
    (t, b), (left, r) = pads(kernel, size)
    return Geometry(((t, b), (left, r)), (h + t + b - kh + 1, w + left + r - kw + 1))
