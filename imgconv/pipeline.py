"""The order of operations of SPEC §3: filters in sequence, then abs/offset/rescale/cast.

One function, :func:`filter_image`, used by the API, ``apply``, ``batch`` and ``diff``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.engine import as_working, filter_array
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel, as_kernel, load_filter
from imgconv.pixels import dtype_max, quantize

ALPHA_MODES = ("keep", "filter", "premultiply")
CLIP_NOTE = 0.05  # say so when this share of samples or more was clipped
Array = npt.NDArray[np.floating]


@dataclass
class Options:
    """Everything that says what is computed (the CLI's common options)."""

    mode: str = "convolve"
    method: str = "auto"
    boundary: str = "reflect"
    cval: float = 0.0
    size: str = "same"
    precision: str = "auto"
    abs: bool = False
    offset: float = 0.0
    rescale: bool = False
    normalize: bool = False
    alpha: str = "keep"


@dataclass
class Result:
    """A filtered image in float, before quantisation, and how it was made."""

    values: Array  # H×W or H×W×C, colour (and alpha, when filtered or premultiplied)
    methods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class FileRecord:
    """What became of one file of ``apply`` or ``batch`` (the ``apply --json`` record)."""

    input: str
    output: str
    filters: list[str]
    mode: str
    method: str  # the method(s) ``auto`` chose, joined by "+"
    boundary: str
    shape: list[int]
    dtype: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    tiled: bool = False  # filtered in bands (over the memory limit, or on a cluster)
    report: str | None = None  # the folder of ``apply --report``

    def to_json(self) -> dict[str, object]:
        """The ``apply --json`` object: keys in this order; ``tiled``/``report`` when set."""
        out: dict[str, object] = {
            "input": self.input, "output": self.output, "filters": self.filters,
            "mode": self.mode, "method": self.method, "boundary": self.boundary,
            "shape": self.shape, "dtype": self.dtype, "seconds": self.seconds,
        }
        if self.tiled:
            out["tiled"] = True
        out["notes"] = self.notes
        if self.report is not None:
            out["report"] = self.report
        return out


def normalized(kernel: Kernel, notes: list[str] | None = None) -> Kernel:
    """The kernel divided by its sum; a zero-sum kernel is left as is (and a note says so)."""
    if kernel.is_zero_sum:
        if notes is not None:
            notes.append(
                f"--normalize left {kernel.name!r} as it is: its weights sum to 0 "
                "(an edge or Laplacian kernel), so there is nothing to divide by"
            )
        return kernel
    return kernel.with_scale(kernel.scale / kernel.sum)


def _identity_like(kernel: Kernel) -> Kernel:
    """A one-hot kernel of the same shape and anchor: moves alpha like the colour."""
    w = np.zeros(kernel.shape)
    w[kernel.center] = 1.0
    return Kernel(w, anchor=kernel.center, name="identity")


def run_filters(
    image: npt.ArrayLike,
    filters: Sequence[Kernel | str | npt.ArrayLike],
    options: Options | None = None,
    *,
    has_alpha: bool = False,
    alpha_max: float = 1.0,
) -> Result:
    """Apply every filter in turn (scale, file offset, ``--normalize``); no final cast.

    ``has_alpha`` marks the last channel as alpha (gray+alpha, RGBA), handled by
    ``options.alpha``; ``alpha_max`` is the value of an opaque pixel.
    """
    opts = options or Options()
    if opts.alpha not in ALPHA_MODES:
        raise ImgconvError(f"unknown --alpha {opts.alpha!r}: use one of {', '.join(ALPHA_MODES)}")
    kernels = [as_kernel(f) if not isinstance(f, str) else load_filter(f) for f in filters]
    if not kernels:
        raise ImgconvError("no filter given: name at least one with -f")
    notes: list[str] = []
    if opts.normalize:
        kernels = [normalized(k, notes) for k in kernels]
    work = as_working(image, opts.precision)
    alpha: Array | None = None
    colour = work
    if has_alpha and work.ndim == 3 and opts.alpha != "filter":
        colour, alpha = work[:, :, :-1], work[:, :, -1]
        if colour.shape[2] == 1:
            colour = colour[:, :, 0]
    premultiply = alpha is not None and opts.alpha == "premultiply"
    if premultiply:
        assert alpha is not None
        a01 = alpha / alpha_max
        colour = colour * (a01[:, :, None] if colour.ndim == 3 else a01)
    methods: list[str] = []
    kw: dict[str, Any] = dict(mode=opts.mode, method=opts.method, boundary=opts.boundary,
                              cval=opts.cval, size=opts.size, precision=opts.precision)
    for k in kernels:
        colour, used = filter_array(colour, k, **kw)
        methods.append(used)
        if alpha is not None:
            # alpha follows the same geometry: kept (a one-hot kernel, always spatial, so
            # exact) or filtered with the kernel (premultiply)
            if premultiply:
                alpha, _ = filter_array(alpha, k, **{**kw, "method": "auto"})
            else:
                alpha, _ = filter_array(alpha, _identity_like(k), **{**kw, "method": "direct"})
        if k.offset:
            add = colour.dtype.type(k.offset)
            if premultiply:  # the offset is a colour value: premultiply it like the colour
                assert alpha is not None
                a01 = alpha / alpha_max
                colour = colour + add * (a01[:, :, None] if colour.ndim == 3 else a01)
            else:
                colour = colour + add
    if premultiply:
        assert alpha is not None
        a01 = alpha / alpha_max
        safe = np.where(a01 > 0, a01, 1)
        div = safe[:, :, None] if colour.ndim == 3 else safe
        colour = np.where((a01 > 0)[:, :, None] if colour.ndim == 3 else a01 > 0,
                          colour / div, 0).astype(colour.dtype)
    if alpha is not None:
        c3 = colour if colour.ndim == 3 else colour[:, :, None]
        values = np.concatenate([c3, alpha[:, :, None]], axis=2)
    else:
        values = colour
    return Result(values, methods, notes)


def to_gray(
    array: npt.NDArray[np.generic], has_alpha: bool
) -> tuple[npt.NDArray[np.generic], bool]:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as Pillow's "L"), alpha kept.

    Returned in float32 (float64 for float64 images); a gray image is returned as is.
    """
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 2 and has_alpha):
        return array, has_alpha
    if array.shape[2] not in (3, 4):
        raise ImgconvError(f"--gray needs an RGB or RGBA image; this one has {array.shape[2]} "
                           "channels")
    ft = np.float64 if array.dtype == np.float64 else np.float32
    rgb = array[:, :, :3].astype(ft)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=ft)
    if has_alpha and array.shape[2] == 4:
        return np.stack([luma, array[:, :, 3].astype(ft)], axis=2), True
    return luma, False


def finish(
    values: Array,
    out_dtype: str | np.dtype[np.generic],
    *,
    in_dtype: str | np.dtype[np.generic] | None = None,
    abs_: bool = False,
    offset: float = 0.0,
    rescale: bool = False,
    keep_last: bool = False,
    notes: list[str] | None = None,
) -> npt.NDArray[np.generic]:
    """``--abs``, ``--offset``, ``--rescale``, integer-to-integer scaling, round, clip, cast.

    ``keep_last`` leaves the last channel (alpha, whatever ``--alpha`` did to it) out of
    abs/offset/rescale: they are operations on colour.
    """
    out_dt = np.dtype(out_dtype)
    v = values.astype(values.dtype, copy=True)
    body = v[:, :, :-1] if keep_last else v
    if abs_:
        np.abs(body, out=body)
    if offset:
        body += body.dtype.type(offset)
    ratio = 1.0
    if in_dtype is not None:
        in_dt = np.dtype(in_dtype)
        if in_dt.kind in "ui" and out_dt.kind in "ui" and in_dt != out_dt:
            ratio = dtype_max(out_dt) / dtype_max(in_dt)
    if rescale:
        lo, hi = float(body.min()), float(body.max())
        top = dtype_max(out_dt)
        if hi > lo:
            body -= body.dtype.type(lo)
            body *= body.dtype.type(top / (hi - lo))
        else:
            body[...] = 0
        if keep_last and ratio != 1.0:
            v[:, :, -1] *= v.dtype.type(ratio)
    elif ratio != 1.0:
        v *= v.dtype.type(ratio)
    if not np.isfinite(body).all():
        raise ImgconvError("the result overflowed (inf or NaN): the kernel, --offset or --cval "
                           "is too large for the image's values")
    if notes is not None and out_dt.kind in "ui" and body.size:
        top = dtype_max(out_dt)
        low = float(np.count_nonzero(body < -0.5)) / body.size
        high = float(np.count_nonzero(body >= top + 0.5)) / body.size
        if low >= CLIP_NOTE:
            notes.append(f"{low:.0%} of the samples were negative and were clipped to 0 in "
                         f"{out_dt} (edge kernels: --abs, --offset {int(top // 2 + 1)} or "
                         "--dtype float32 with a .tif/.npy output keep the sign)")
        if high >= CLIP_NOTE:
            notes.append(f"{high:.0%} of the samples were above {int(top)} and were clipped "
                         "(--rescale or a float --dtype keep them)")
    return quantize(v, out_dt, inplace=True)  # v is this function's own copy


def _is_matrix(obj: object) -> bool:
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError):
        return False
    return arr.ndim == 2 and arr.dtype.kind in "biuf"


def filter_image(
    image: npt.ArrayLike,
    filters: Sequence[Kernel | str | npt.ArrayLike] | Kernel | str,
    *,
    mode: str = "convolve",
    method: str = "auto",
    boundary: str = "reflect",
    cval: float = 0.0,
    size: str = "same",
    precision: str = "auto",
    abs: bool = False,
    offset: float = 0.0,
    rescale: bool = False,
    normalize: bool = False,
    alpha: str = "keep",
    has_alpha: bool = False,
    dtype: str | None = None,
) -> npt.NDArray[np.generic]:
    """Filter an image array the way ``imgconv apply`` does and return it in ``dtype``.

    ``filters`` is one filter or a sequence applied in turn (paths, shipped names,
    generators, inline matrices, :class:`Kernel` or 2-D arrays).  ``dtype`` defaults
    to the image's own; values stay in the image's range and are rounded half to
    even and clipped for integer outputs.
    """
    arr = np.asarray(image)
    if isinstance(filters, (Kernel, str)) or (
        not isinstance(filters, (str, Kernel)) and _is_matrix(filters)
    ):
        filters = [filters]  # type: ignore[list-item]  # one kernel, not a chain
    opts = Options(mode=mode, method=method, boundary=boundary, cval=cval, size=size,
                   precision=precision, abs=abs, offset=offset, rescale=rescale,
                   normalize=normalize, alpha=alpha)
    amax = dtype_max(arr.dtype) if arr.dtype.kind in "ui" else 1.0
    res = run_filters(arr, filters, opts, has_alpha=has_alpha, alpha_max=amax)
    out_dtype = dtype or str(arr.dtype)
    keep_last = has_alpha and arr.ndim == 3  # alpha: no abs/offset/rescale
    return finish(res.values, out_dtype, in_dtype=arr.dtype, abs_=abs, offset=offset,
                  rescale=rescale, keep_last=keep_last)


def process_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    kernels: Sequence[Kernel],
    options: Options,
    *,
    dtype: str | None = None,
    gray: bool = False,
    page: int | None = None,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike[str], ...] = (),
    memory_limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> FileRecord:
    """Read ``src``, filter it, write ``dst`` atomically: one file of ``apply`` or ``batch``.

    With ``memory_limit`` (bytes), an image whose working set would exceed it is
    filtered in bands with its output streamed (:mod:`imgconv.tiled`), when its
    format allows; ``progress(done, total)`` then follows the bands.

    Every page of a multi-page TIFF is filtered (into a multi-page TIFF) unless ``page``
    picks one.  Returns its :class:`FileRecord`.
    """
    from imgconv.errors import ImageError, OutputError
    from imgconv.pixels import (
        check_output_channels,
        check_output_dtype,
        read_image,
        same_file,
        write_image,
    )

    for inp in (src, *protect):
        if same_file(inp, dst):
            raise OutputError(f"{dst}: is an input; refusing to overwrite it (choose another "
                              "output)")
    if scheduler is not None or memory_limit is not None:
        limit = memory_limit if memory_limit is not None else 2**62
        tiled = _tiled_route(Path(src), Path(dst), options, limit, page, gray,
                             force=scheduler is not None)
        if tiled:
            from imgconv.tiled import process_file_tiled

            return process_file_tiled(Path(src), Path(dst), kernels, options,
                                      limit=limit, dtype=dtype, page=page,
                                      overwrite=overwrite, progress=progress,
                                      scheduler=scheduler)
    t0 = time.perf_counter()
    img = read_image(src, page=page)
    in_dtype = img.array.dtype
    out_dtype = dtype or str(in_dtype)
    check_output_dtype(dst, out_dtype)
    pages = img.pages
    core = img.array.shape[1:] if pages > 1 else img.array.shape
    channels = core[2] if len(core) == 3 else 1
    if gray and channels in (3, 4):
        channels -= 2
    check_output_channels(dst, channels)
    if pages > 1 and Path(dst).suffix.lower() not in (".tif", ".tiff"):
        raise ImageError(f"{src}: has {pages} pages; write it to a .tif, or pick one with "
                         "--page N")
    stack = list(img.array) if pages > 1 else [img.array]
    finals: list[npt.NDArray[np.generic]] = []
    methods: list[str] = []
    notes: list[str] = []
    for arr in stack:
        has_alpha = img.has_alpha
        if gray:
            arr, has_alpha = to_gray(arr, has_alpha)
        res = run_filters(arr, kernels, options, has_alpha=has_alpha,
                          alpha_max=dtype_max(in_dtype))
        keep_last = has_alpha and arr.ndim == 3  # alpha: no abs/offset/rescale
        notes += res.notes
        finals.append(finish(res.values, out_dtype, in_dtype=in_dtype, abs_=options.abs,
                             offset=options.offset, rescale=options.rescale,
                             keep_last=keep_last, notes=notes))
        methods += res.methods
    final = np.stack(finals) if pages > 1 else finals[0]
    meta = dict(img.meta)
    if gray and img.array.ndim - (1 if pages > 1 else 0) == 3:
        meta.pop("icc_profile", None)  # a colour profile does not describe a gray image
    write_image(dst, final, overwrite=overwrite, protect=(src, *protect), meta=meta,
                pages=pages)
    return FileRecord(str(src), str(dst), [k.name for k in kernels], options.mode,
                      "+".join(dict.fromkeys(methods)), options.boundary, list(final.shape),
                      str(final.dtype), round(time.perf_counter() - t0, 4),
                      list(dict.fromkeys(notes)))


def _tiled_route(src: Path, dst: Path, options: Options, limit: int, page: int | None,
                 gray: bool, force: bool = False) -> bool:
    """Should this file be filtered in bands?  Refuses what cannot be streamed.

    ``force`` (bands on a Dask cluster) bands any streamable image."""
    from imgconv.errors import ImageError
    from imgconv.tiled import STREAM_IN, STREAM_OUT, header_shape, needs_tiling

    if src.suffix.lower() not in STREAM_IN:
        if force:
            raise ImageError(f"{src}: only TIFF and .npy images can be split across a cluster "
                             "(--scheduler); convert it, or use 'imgconv batch --scheduler'")
        return False  # read whole (the format cannot be streamed)
    try:
        shape, dt, pages = header_shape(src, page)
    except ImgconvError:
        return False  # let the ordinary reader report what is wrong
    if pages > 1 and page is None:
        if needs_tiling((pages, *shape), dt, options.precision, limit):
            raise ImageError(f"{src}: a multi-page TIFF over --memory-limit: filter one page "
                             "at a time with --page N")
        return False
    if not force and not needs_tiling(shape, dt, options.precision, limit):
        return False
    if dst.suffix.lower() not in STREAM_OUT:
        raise ImageError(f"{src}: needs more than --memory-limit, so it is filtered in bands; "
                         f"write the result as .tif or .npy (not {dst.suffix}), or raise "
                         "--memory-limit")
    if gray:
        raise ImageError(f"{src}: --gray is not available for images over --memory-limit")
    return True
