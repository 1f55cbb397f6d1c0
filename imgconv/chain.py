"""The order of operations of docs/semantics.md §3, once, for whole images and bands.

For each kernel in turn: the kernel (its scale folded in, ``normalize`` applied) is
correlated or convolved, its file ``offset`` added, alpha kept, filtered or
premultiplied (:func:`apply_kernel`); then once, :func:`finish`: ``abs``, ``offset``
(:func:`float_stage`, which ``diff`` shares), ``rescale``, integer-to-integer scaling,
round half to even, clip, cast.
:func:`filter_image` is the public entry for arrays; :mod:`imgconv.files` (whole
files) and :mod:`imgconv.bands` (images larger than memory) call the same pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from imgconv.boundary import boundary_mode
from imgconv.dtypes import dtype_max, quantize
from imgconv.engine import all_finite, as_working, filter_array
from imgconv.engine.backends import quantized
from imgconv.errors import ImgconvError, Message, verbatim
from imgconv.kernels import Kernel, as_kernel, load_filter
from imgconv.options import FilterOptions

CLIP_NOTE = 0.05  # say so when this share of samples or more was clipped
Array = npt.NDArray[np.floating]
#: one filter pass: ``filter_array`` for whole images, ``filter_band`` for bands
Pass = Callable[..., tuple[Array, str]]


@dataclass
class Result:
    """A filtered image in float, before quantisation, and how it was made."""

    values: Array  # H×W or H×W×C, colour (and alpha, when filtered or premultiplied)
    methods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    finite_source: bool = True  # False: the image had NaN/inf values, kept local
    gain: float = 1.0  # the product of the kernels' sums: > 1 brightens, clipping follows


def normalized(kernel: Kernel, notes: list[str] | None = None) -> Kernel:
    """The kernel divided by its sum; a zero-sum kernel is left as is (and a note says so)."""
    if kernel.is_zero_sum:
        if notes is not None:
            notes.append(Message(
                f"{{normalize}} left {verbatim(repr(kernel.name))} as it is: its weights sum to 0 "
                "(an edge or Laplacian kernel), so there is nothing to divide by",
                {"normalize": True}))
        return kernel
    return kernel.with_scale(kernel.scale / kernel.sum)


def identity_like(kernel: Kernel) -> Kernel:
    """A one-hot kernel of the same shape and anchor: moves alpha like the colour."""
    w = np.zeros(kernel.shape)
    w[kernel.center] = 1.0
    return Kernel(w, anchor=kernel.center, name="identity")


def _per_pixel(a01: npt.NDArray[Any], like: Array) -> npt.NDArray[Any]:
    """An H×W factor (or mask) shaped to multiply ``like`` (H×W or H×W×C)."""
    return a01[:, :, None] if like.ndim == 3 else a01


def apply_kernel(
    colour: Array,
    alpha: Array | None,
    kernel: Kernel,
    options: FilterOptions,
    *,
    alpha_max: float = 1.0,
    run: Pass = filter_array,
    bound: float | None = None,
) -> tuple[Array, Array | None, str]:
    """One kernel of the chain: ``(colour, alpha, method used)``.

    ``alpha`` (None when there is none, or when it is filtered like colour) follows the
    colour's geometry: kept by a one-hot kernel (always spatial, so exact) or, under
    ``premultiply``, filtered with the kernel.  The file offset is a colour value: under
    ``premultiply`` it is premultiplied like the colour.  ``run`` is the engine call
    (``filter_array`` or, for bands, ``filter_band``); ``bound``, when known, bounds
    ``|colour|`` (it spares the engine's scan for an overflow).
    """
    kw = {**options.engine, "bound": bound}
    colour, used = run(colour, kernel, **kw)
    premultiply = alpha is not None and options.alpha == "premultiply"
    if alpha is not None:
        if premultiply:
            alpha, _ = run(alpha, kernel, **{**kw, "method": "auto"})
        else:
            alpha, _ = run(alpha, identity_like(kernel), **{**kw, "method": "direct"})
    if kernel.offset:
        before = int(np.count_nonzero(np.isfinite(colour)))
        with np.errstate(over="ignore", invalid="ignore"):
            add = colour.dtype.type(kernel.offset)
            if premultiply:
                assert alpha is not None
                colour = colour + add * _per_pixel(alpha / alpha_max, colour)
            else:
                colour = colour + add
        if int(np.count_nonzero(np.isfinite(colour))) < before:
            raise ImgconvError(f"the offset {kernel.offset:g} of kernel {verbatim(kernel.called)} "
                               "overflowed to inf in the working precision: use "
                               "{precision} or a smaller offset", values={"precision": "double"})
    return colour, alpha, used


def split_alpha(work: Array, has_alpha: bool, options: FilterOptions) -> tuple[Array, Array | None]:
    """``(colour, alpha)``: alpha apart unless it is filtered like colour (``alpha='filter'``)."""
    if not (has_alpha and work.ndim == 3 and options.alpha != "filter"):
        return work, None
    colour, alpha = work[:, :, :-1], work[:, :, -1]
    return (colour[:, :, 0] if colour.shape[2] == 1 else colour), alpha


def join_alpha(colour: Array, alpha: Array | None) -> Array:
    """Colour and alpha back in one array (alpha last)."""
    if alpha is None:
        return colour
    c3 = colour if colour.ndim == 3 else colour[:, :, None]
    return np.concatenate([c3, alpha[:, :, None]], axis=2)


def run_filters(
    image: npt.ArrayLike,
    filters: Sequence[Kernel | str | npt.ArrayLike],
    options: FilterOptions | None = None,
    *,
    has_alpha: bool = False,
    alpha_max: float = 1.0,
) -> Result:
    """Apply every filter in turn (scale, file offset, ``normalize``); no final cast.

    ``has_alpha`` marks the last channel as alpha (gray+alpha, RGBA), handled by
    ``options.alpha``; ``alpha_max`` is the value of an opaque pixel.
    """
    opts = options or FilterOptions()
    kernels = [load_filter(f) if isinstance(f, str) else as_kernel(f) for f in filters]
    if not kernels:
        raise ImgconvError("no filter given: name at least one")
    notes = [str(k.meta["note"]) for k in kernels if isinstance(k.meta.get("note"), str)]
    if opts.normalize:
        kernels = [normalized(k, notes) for k in kernels]
    work = as_working(image, opts.precision)
    finite_source = all_finite(work)
    colour, alpha = split_alpha(work, has_alpha, opts)
    premultiply = alpha is not None and opts.alpha == "premultiply"
    if premultiply:
        assert alpha is not None
        colour = colour * _per_pixel(alpha / alpha_max, colour)
    methods: list[str] = []
    src = np.asarray(image).dtype
    bound = dtype_max(src) if src.kind in "biu" else None  # values stay in 0..max
    if bound is not None and src.kind == "i":
        bound = float(-np.iinfo(src).min)
    for k in kernels:
        colour, alpha, used = apply_kernel(colour, alpha, k, opts, alpha_max=alpha_max,
                                           bound=bound)
        methods.append(used)
        if bound is not None:  # what this kernel can make of values within the bound
            bound = max(bound, abs(opts.cval)) * k.abs_sum + abs(k.offset)
    if premultiply:
        assert alpha is not None
        a01 = alpha / alpha_max
        covered = _per_pixel(a01 > 0, colour)
        colour = np.where(covered, colour / _per_pixel(np.where(a01 > 0, a01, 1), colour),
                          0).astype(colour.dtype)
    gain = float(np.prod([k.sum for k in kernels]))
    return Result(join_alpha(colour, alpha), methods, notes, finite_source, gain)


def fused(
    image: npt.NDArray[Any],
    kernels: Sequence[Kernel],
    options: FilterOptions,
    *,
    has_alpha: bool = False,
    out_dtype: str | None = None,
) -> tuple[npt.NDArray[Any], str] | None:
    """The whole chain and :func:`finish` in one backend call, for an 8- or 16-bit image
    written back in its own type: ``(pixels, method)``, or None when that would not give
    what :func:`run_filters` and :func:`finish` give.

    One kernel, ``same`` size, no ``abs``/``rescale``, a boundary the backend has (cval 0),
    single precision, alpha kept (or filtered like colour), and a kernel that cannot take a
    value out of the type's range (weights ≥ 0 summing to at most 1 with the offsets:
    blurs; so no sample is clipped and no clipping note is owed).  The backend accumulates
    in float and rounds once, half to even (docs/semantics.md §3); a different summation
    order may move a value by one level at a few pixels.  No float copy of the image is
    ever made: the camera-size path (docs/architecture.md).
    """
    dt = image.dtype
    if (dt not in (np.uint8, np.uint16) or (out_dtype or str(dt)) != str(dt)
            or len(kernels) != 1 or options.size != "same" or options.abs or options.rescale
            or options.precision == "double" or options.method not in ("auto", "direct",
                                                                       "separable")
            or (has_alpha and options.alpha == "premultiply")):
        return None
    kernel = normalized(kernels[0]) if options.normalize else kernels[0]
    mode = boundary_mode(options.boundary)
    if mode.uses_cval and options.cval != 0:
        return None
    top = dtype_max(dt)
    delta = kernel.offset + options.offset
    weights = kernel.array
    low = top * float(weights[weights < 0].sum()) + delta
    high = top * float(weights[weights > 0].sum()) + delta
    if low < 0 or high > top * (1 + 1e-6) or not np.isfinite(weights).all():
        return None
    applied = kernel.flipped() if options.mode == "convolve" else kernel
    keep_alpha = has_alpha and image.ndim == 3 and options.alpha == "keep"
    colour = image[:, :, :-1] if keep_alpha else image
    done = quantized(np.ascontiguousarray(colour), applied, options.method, mode, delta)
    if done is None:
        return None
    out, used = done
    if keep_alpha:
        out = np.concatenate([out if out.ndim == 3 else out[:, :, None], image[:, :, -1:]],
                             axis=2)
    return out, used


def to_gray(
    array: npt.NDArray[np.generic], has_alpha: bool
) -> tuple[npt.NDArray[np.generic], bool]:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as Pillow's "L"), alpha kept.

    Returned in float32 (float64 for float64 images); a gray image is returned as is.
    """
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 2 and has_alpha):
        return array, has_alpha
    if array.shape[2] not in (3, 4):
        raise ImgconvError(f"{{gray}} needs an RGB or RGBA image; this one has "
                           f"{array.shape[2]} channels", values={"gray": True})
    ft = np.float64 if array.dtype == np.float64 else np.float32
    rgb = array[:, :, :3].astype(ft)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=ft)
    if has_alpha and array.shape[2] == 4:
        return np.stack([luma, array[:, :, 3].astype(ft)], axis=2), True
    return luma, False


def int_ratio(in_dtype: Any, out_dtype: Any) -> float:
    """Integer-to-integer output scales by the ratio of the maxima (uint16 → uint8: 1/257)."""
    if in_dtype is None:
        return 1.0
    i, o = np.dtype(in_dtype), np.dtype(out_dtype)
    return dtype_max(o) / dtype_max(i) if i.kind in "ui" and o.kind in "ui" and i != o else 1.0


def finish(
    values: Array,
    options: FilterOptions,
    *,
    in_dtype: str | np.dtype[np.generic] | None = None,
    keep_last: bool = False,
    notes: list[str] | None = None,
    value_range: tuple[float, float] | None = None,
    finite_source: bool = True,
    gain: float = 1.0,
) -> npt.NDArray[np.generic]:
    """The last step of the chain, once: :func:`float_stage` (``abs``, ``offset``), then
    ``rescale``, integer-to-integer scaling, round, clip, cast to ``options.dtype`` (None:
    ``in_dtype``, the image's own).

    ``keep_last`` leaves the last channel (alpha, whatever ``alpha`` did to it) out of
    abs/offset/rescale: they are operations on colour.  ``value_range`` is the
    ``(min, max)`` that ``rescale`` maps onto the output range, after abs and offset
    (default: this array's own finite values; bands pass the whole image's).
    ``finite_source=False`` says the image had NaN/inf values: they stay where the
    kernels reached them in a float output; an integer output cannot hold them.
    ``notes`` collects what the user should know (clipping; ``gain``, the product of the
    kernels' sums, says whether ``normalize`` would have avoided it; float pixels cast to
    an integer dtype as they are).
    """
    out_dt = np.dtype(options.dtype or in_dtype or values.dtype)
    v = values.astype(values.dtype, copy=True)
    body = v[..., :-1] if keep_last else v
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        float_stage(v, options, keep_last=keep_last)
        _post(v, out_dt, options, ratio=int_ratio(in_dtype, out_dt), keep_last=keep_last,
              value_range=value_range)
    _check_finite(v, out_dt, finite_source, options.offset)
    if notes is not None:
        notes += clip_notes(body, out_dt, gain, options)
        notes += cast_notes(body, in_dtype, out_dt, options.rescale)
    return quantize(v, out_dt, inplace=True)  # v is this function's own copy


def float_stage(values: Array, options: FilterOptions, *, keep_last: bool = False) -> None:
    """``abs``, then ``offset``, in place, on colour only (the last channel is alpha when
    ``keep_last``): the float result that :func:`finish` rescales and rounds, and that
    ``diff`` compares."""
    body = values[..., :-1] if keep_last else values
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is the caller's to report
        if options.abs:
            np.abs(body, out=body)
        if options.offset:
            body += body.dtype.type(options.offset)


def _post(v: Array, out_dt: np.dtype[Any], options: FilterOptions, *, ratio: float,
          keep_last: bool, value_range: tuple[float, float] | None) -> None:
    """rescale and integer scaling, in place (after :func:`float_stage`)."""
    body = v[..., :-1] if keep_last else v
    if options.rescale:
        lo, hi = value_range or _finite_range(body)
        if hi > lo:
            body -= body.dtype.type(lo)
            body *= body.dtype.type(dtype_max(out_dt) / (hi - lo))
        else:
            body[...] = 0
        if keep_last and ratio != 1.0:
            v[..., -1] *= v.dtype.type(ratio)
    elif ratio != 1.0:
        v *= v.dtype.type(ratio)


def _finite_range(body: Array) -> tuple[float, float]:
    finite = body[np.isfinite(body)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)


def _check_finite(v: Array, out_dt: np.dtype[Any], finite_source: bool, offset: float) -> None:
    """NaN/inf in the result: the image's own (kept local, float outputs only), or an
    overflow of ``abs``/``offset``/``rescale`` in the working precision."""
    if all_finite(v):
        return
    bad = v.size - int(np.count_nonzero(np.isfinite(v)))
    if finite_source:
        if v.dtype == np.float64:
            raise ImgconvError("the result overflowed to inf or NaN after {offset:g} "
                               "even in double precision: use a smaller offset",
                               values={"offset": offset})
        raise ImgconvError("the result overflowed to inf or NaN after {offset:g} in "
                           "single precision: use {precision} or a smaller offset",
                           values={"precision": "double", "offset": offset})
    if out_dt.kind != "f":
        raise ImgconvError(f"{bad:,} result value(s) are NaN or infinite (the image's own "
                           f"non-finite pixels reach them) and a {out_dt} output cannot hold "
                           "them: write {dtype} to a .tif or .npy", values={"dtype": "float32"})


def cast_notes(body: Array, in_dtype: Any, out_dt: np.dtype[Any], rescale: bool) -> list[str]:
    """A note when float pixels in 0..1 are cast to an integer dtype as they are."""
    if rescale or in_dtype is None or np.dtype(in_dtype).kind != "f" or out_dt.kind not in "ui":
        return []
    finite = body[np.isfinite(body)]
    if not finite.size or float(np.abs(finite).max()) > 1.0:
        return []
    return [Message(f"the float pixels (0..1) were cast to {out_dt} as they are, so every value "
                    f"is 0 or 1: {{rescale}} stretches them to 0..{int(dtype_max(out_dt))}",
                    {"rescale": True})]


def clip_notes(body: Array, out_dt: np.dtype[Any], gain: float = 1.0,
               given: FilterOptions | None = None) -> list[str]:
    """Notes when a large share of the samples is clipped by an integer output; the
    advice leaves out what ``given`` (the options the result was made with) already did."""
    if out_dt.kind not in "ui" or not body.size:
        return []
    top = dtype_max(out_dt)
    bottom = float(np.iinfo(out_dt).min)
    low = float(np.count_nonzero(body < bottom - 0.5)) / body.size
    high = float(np.count_nonzero(body >= top + 0.5)) / body.size
    notes: list[str] = []
    if low >= CLIP_NOTE and bottom < 0:
        notes.append(Message(f"{low:.0%} of the samples were below {int(bottom)} and were clipped "
                             f"in {out_dt} (a float {{dtype!s}} with a .tif/.npy output keeps "
                             "them)", {"dtype": ""}))
    elif low >= CLIP_NOTE and abs(gain) <= 1e-9:  # weights summing to 0: an edge detector
        notes.append(_edge_note(body, out_dt, low, given or FilterOptions()))
    elif low >= CLIP_NOTE:  # a sharpen or emboss overshoots below 0 at edges
        notes.append(Message(f"{low:.0%} of the samples were negative and were clipped to 0 in "
                             f"{out_dt} (the kernel's negative weights overshoot at edges: "
                             "{rescale} maps every value onto the range, {dtype} with a "
                             ".tif/.npy output keeps them)", {"rescale": True, "dtype": "float32"}))
    if high >= CLIP_NOTE:
        fix = "{rescale} or a float {dtype!s} keep them"
        if gain > 1.5:
            fix = (f"the kernels' weights sum to {gain:.4g}: {{normalize}} divides them by "
                   f"it; {fix}")
        notes.append(Message(f"{high:.0%} of the samples were above {int(top)} and were clipped "
                             f"({fix})", {"rescale": True, "dtype": "", "normalize": True}))
    return notes


def _edge_note(body: Array, out_dt: np.dtype[Any], low: float,
               given: FilterOptions) -> Message:
    """The note on an edge kernel's clipped negatives: what keeps them, by the range its
    results reach (after the ``offset`` given) and leaving out what was given."""
    lo, hi = _finite_range(body)
    top = dtype_max(out_dt)
    shift = int(top // 2 + 1)  # 128 for uint8: the middle grey is 0
    after = " after {offset[0]:g}" if given.offset else ""
    tips = [] if given.abs else ["{abs} keeps their magnitude, not their sign"]
    if not given.offset and -lo <= shift and hi <= top - shift:
        tips.append("{offset[1]} keeps the sign")
    tips += [f"{{rescale}} maps them onto 0..{int(top)}",
             "{dtype} with a .tif/.npy output keeps them as they are"]
    return Message(f"{low:.0%} of the samples were negative and were clipped to 0 in {out_dt} "
                   f"(edge kernels: the results reach {lo:.6g}..{hi:.6g}{after}: "
                   f"{'; '.join(tips)})",
                   {"offset": (given.offset, shift), "abs": True, "rescale": True,
                    "dtype": "float32"})


def _is_matrix(obj: object) -> bool:
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError):
        return False
    return arr.ndim == 2 and arr.dtype.kind in "biuf"


def filter_image(
    image: npt.ArrayLike,
    filters: Sequence[Kernel | str | npt.ArrayLike] | Kernel | str,
    options: FilterOptions | None = None,
    *,
    has_alpha: bool = False,
    **option_values: Any,
) -> npt.NDArray[np.generic]:
    """Filter an image array the way ``imgconv apply`` does and return it in ``dtype``.

    ``filters`` is one filter or a sequence applied in turn (paths, shipped names,
    generators, inline matrices, :class:`Kernel` or 2-D arrays).  The options are a
    :class:`~imgconv.options.FilterOptions` or its fields as keywords (``mode=``,
    ``boundary=``, ``size=``, ``dtype=``...).  ``dtype`` defaults to the image's own;
    values stay in the image's range and are rounded half to even and clipped for
    integer outputs.
    """
    arr = np.asarray(image)
    opts = (options or FilterOptions()).replace(**option_values) if option_values else (
        options or FilterOptions())
    _check_chain(filters)
    one = isinstance(filters, (Kernel, str)) or _is_matrix(filters)  # one kernel, not a chain
    chain = cast("Sequence[Kernel | str | npt.ArrayLike]", [filters] if one else filters)
    amax = dtype_max(arr.dtype) if arr.dtype.kind in "ui" else 1.0
    res = run_filters(arr, chain, opts, has_alpha=has_alpha, alpha_max=amax)
    keep_last = has_alpha and arr.ndim == 3  # alpha: no abs/offset/rescale
    return finish(res.values, opts, in_dtype=arr.dtype, keep_last=keep_last,
                  finite_source=res.finite_source)


def _check_chain(filters: object) -> None:
    """``filters`` is one filter or a sequence of them; a 3-D array is neither."""
    if filters is None:
        raise ImgconvError("{filters}: give a filter (a name, a path, a Kernel or a 2-D "
                           "array) or a list of them", values={"filters": None})
    if not isinstance(filters, (str, Kernel, np.ndarray, list, tuple)):
        raise ImgconvError("{filters}: give a filter (a name, a path, an inline "
                           "matrix, a Kernel or a 2-D array) or a list of them",
                           values={"filters": filters})
    if isinstance(filters, np.ndarray) and filters.ndim != 2:
        raise ImgconvError(f"filters is a {filters.ndim}-D array of shape {filters.shape}: "
                           "give one 2-D kernel, or a list of 2-D kernels for a chain "
                           "(list(array) applies its first axis in turn)", param="filters")
