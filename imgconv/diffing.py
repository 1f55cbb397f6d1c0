"""``imgconv diff``: two variants of the same filtering, their differences, a prediction.

A variant is a set of options (mode, method, boundary, cval, precision, size) over
the command's own; the prediction says what docs/semantics.md §1 implies before looking:

- *equal* when the variants differ only in how (method, precision: round-off
  only), or only in the mode and every kernel equals its 180° rotation with a
  centred anchor;
- *border only* when, beyond that, only the boundary or cval differs (the
  differences are confined to the frame the kernels reach over the edge);
- *different* otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.algebra import compose
from imgconv.boundary import boundary_mode, canonical_boundary
from imgconv.chain import Result, finish, float_stage, normalized, run_filters
from imgconv.compare import compare
from imgconv.dtypes import dtype_max
from imgconv.engine.geometry import pads
from imgconv.errors import ImgconvError, verbatim
from imgconv.files import Frame, read_step
from imgconv.kernels import Kernel, load_filter
from imgconv.options import CHOICES, VARIANT_KEYS, FileOptions, FilterOptions, choice, finite
from imgconv.spelling import did_you_mean

EPS = {"single": 1e-4, "double": 1e-10}


@dataclass(frozen=True)
class Variant:
    """One way of filtering: the options a variant (``a``/``b``) sets over the command's,
    and optionally its own filter chain (empty: the command's filters).

    Its :data:`~imgconv.options.VARIANT_KEYS` read through: ``v.mode``, ``v.size``...
    """

    options: FilterOptions = field(default_factory=FilterOptions)
    filters: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name in VARIANT_KEYS:
            return getattr(self.options, name)
        raise AttributeError(name)

    def as_dict(self) -> dict[str, Any]:
        """The variant's keys and filters (the report's ``a``/``b`` objects)."""
        return {**{k: getattr(self.options, k) for k in VARIANT_KEYS},
                "filters": list(self.filters)}

    def label(self) -> str:
        parts = [self.mode, f"method={self.method}", f"boundary={self.boundary}"]
        if self.filters:
            parts.insert(0, "filter=" + "+".join(self.filters))
        if boundary_mode(self.boundary).uses_cval:
            parts.append(f"cval={self.cval:g}")
        if self.precision != "auto":
            parts.append(f"precision={self.precision}")
        if self.size != "same":
            parts.append(f"size={self.size}")
        return ", ".join(parts)


def parse_variant(text: str, base: Variant, which: str = "a") -> Variant:
    """``mode=correlate,method=fft,boundary=wrap`` over ``base``; errors name the variant
    (``which``: ``a`` or ``b``, the parameter) and the bad part.

    ``filter=F`` (last, since filter specs contain commas) sets the variant's own filter
    or chain ``F+G+...``; otherwise the command's ``-f`` are used.
    """
    import os

    changes: dict[str, Any] = {}
    given = text
    m = re.search(r"(?:^|,)\s*filters?\s*=", text)
    if m:
        chain = text[m.end():].strip()
        text = text[: m.start()]
        if not chain:
            raise ImgconvError(f"{{{which}!s}}: filter= needs a filter or a chain F+G",
                               values={which: ...})
        parts = (chain,) if os.path.exists(chain) else tuple(
            p.strip() for p in chain.split("+") if p.strip())
        if not os.path.exists(chain):
            _check_last(chain, text, which, given)
        changes["filters"] = parts
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        if "=" not in part:
            raise ImgconvError(
                f"{{{which}}}: {verbatim(repr(part))} is not key=value "
                f"(keys: {', '.join(VARIANT_KEYS)}; e.g. mode=correlate,method=fft)",
                values={which: text}
            )
        key, value = (s.strip() for s in part.split("=", 1))
        key = key.lower()
        if key not in VARIANT_KEYS:
            hint = did_you_mean(key, (*VARIANT_KEYS, "filter"))
            raise ImgconvError(
                f"{{{which}}}: unknown key {verbatim(repr(key))}{hint}: use "
                f"{', '.join(VARIANT_KEYS)}, "
                "or filter=F+G (last) for the variant's own filters", values={which: text})
        if key in changes:
            raise ImgconvError(f"{{{which}}}: {verbatim(repr(key))} is given twice",
                               values={which: text})
        changes[key] = _value(key, value, which, text)
    filters = changes.pop("filters", base.filters)
    return Variant(base.options.replace(**changes), filters)


def _check_last(chain: str, before: str, which: str, text: str) -> None:
    """Refuse keys written after ``filter=`` (``filter=box3,boundary=wrap``): what follows
    ``filter=`` is the filter chain, commas included, so a key there belongs to no variant.
    A chain that loads (``gaussian:sigma=2,size=7``: the generator's own ``size``) is kept."""
    keys = list(re.finditer(r",\s*(" + "|".join(VARIANT_KEYS) + r")\s*=", chain, re.IGNORECASE))
    if not keys or _loads(chain):
        return
    cut = next((k for k in reversed(keys) if _loads(chain[:k.start()])), keys[0])  # longest
    spec, rest = chain[:cut.start()].strip(), chain[cut.start() + 1:].strip()
    keys_first = ",".join(p for p in (before.strip(" ,"), rest) if p)
    raise ImgconvError(
        f"{{{which}}}: filter= must come last (the filter chain after it may hold commas), "
        f"so {verbatim(cut.group(1))}= was read as part of the filter: write "
        f"{verbatim(keys_first)},filter={verbatim(spec)}", values={which: text})


def _loads(chain: str) -> bool:
    """Does every filter of ``chain`` (``F+G``) load?"""
    try:
        for part in chain.split("+"):
            load_filter(part.strip())
    except ImgconvError:
        return False
    return True


def _value(key: str, value: str, which: str, text: str) -> Any:
    """A variant's value, validated like :class:`~imgconv.options.FilterOptions`."""
    try:
        if key in CHOICES:
            return choice(key, value, CHOICES[key])
        if key == "boundary":
            return canonical_boundary(value)
        return finite(key, value)
    except ImgconvError as exc:
        raise ImgconvError(f"{{{which}}}: {verbatim(exc)}", values={which: text}) from None


def variant_kernels(v: Variant, kernels: Sequence[Kernel],
                    normalize: bool = False) -> list[Kernel]:
    """The variant's own filter chain, else the command's; ``--normalize`` applied."""
    ks = [load_filter(f) for f in v.filters] if v.filters else list(kernels)
    return [normalized(k) for k in ks] if normalize else ks


def _same_chain(ka: Sequence[Kernel], kb: Sequence[Kernel]) -> bool:
    return len(ka) == len(kb) and all(
        x.shape == y.shape and x.center == y.center and x.offset == y.offset
        and np.array_equal(x.array, y.array) for x, y in zip(ka, kb, strict=True))


def _predict_chains(a: Variant, b: Variant, ka: Sequence[Kernel],
                    kb: Sequence[Kernel]) -> tuple[str, str]:
    """Different filter chains: equal where a composition is exact, if they compose alike."""
    others = {k for k in VARIANT_KEYS if getattr(a, k) != getattr(b, k)} - {"method",
                                                                            "precision"}
    try:
        ca, cb = compose(list(ka)), compose(list(kb))
    except ImgconvError:
        return "different", "the variants apply different filters (with offsets)"
    same = (ca.shape == cb.shape and ca.center == cb.center and np.allclose(
        ca.array, cb.array, rtol=0, atol=1e-12 * max(ca.abs_sum, 1e-300)))
    if not same or others:
        return "different", "the variants apply different kernels"
    mode = boundary_mode(a.boundary)
    exact = (a.size == "valid" or (mode.periodic and a.size == "same")
             or (a.size == "full" and mode.uses_cval and a.cval == 0))
    if exact:
        return "equal", ("both chains compose to the same kernel, and with "
                         f"boundary={a.boundary}, size={a.size} applying the composition is "
                         "exact")
    return "border only", ("both chains compose to the same kernel, but with "
                           f"boundary={a.boundary} a chain re-extends the intermediate image "
                           "at each step: they differ near the border")


def predict(a: Variant, b: Variant, kernels: Sequence[Kernel],
            kernels_b: Sequence[Kernel] | None = None) -> tuple[str, str]:
    """The prediction and its reason, from the kernels and the variants alone.

    ``kernels`` are variant A's (and B's, unless ``kernels_b`` is given).
    """
    if a.size != b.size:
        raise ImgconvError(
            f"the variants have different output sizes ({a.size} vs {b.size}): "
            "compare variants of the same {size!s}", values={"size": ""}
        )
    if kernels_b is not None and not _same_chain(kernels, kernels_b):
        return _predict_chains(a, b, kernels, kernels_b)
    differs = {k for k in VARIANT_KEYS if getattr(a, k) != getattr(b, k)}
    unused = ""  # a cval that no boundary of the two uses: said, not counted
    if not (boundary_mode(a.boundary).uses_cval or boundary_mode(b.boundary).uses_cval):
        if "cval" in differs:
            which = f"boundary={a.boundary} does" if a.boundary == b.boundary else \
                "neither boundary does"
            unused = f"; cval differs ({a.cval:g} vs {b.cval:g}), but {which} not use it"
        differs.discard("cval")  # cval only matters for the constant mode
    if a.size == "valid":
        differs -= {"boundary", "cval"}  # valid never reads beyond the edge
    roundoff = differs & {"method", "precision"}
    differs -= roundoff
    how = f"only {' and '.join(sorted(roundoff))} differ{'s' if len(roundoff) == 1 else ''}"
    if not differs:
        if roundoff:
            return "equal", (f"{how}: the same operation computed two ways, round-off "
                             f"only{unused}")
        return "equal", f"the two variants are the same{unused}"
    # with size full or valid the anchor plays no part: symmetry alone decides
    anchored = a.size == "same"
    symmetric = all(k.correlate_equals_convolve if anchored else k.symmetric for k in kernels)
    names = ", ".join(k.name for k in kernels)
    if differs == {"mode"}:
        if symmetric:
            why = "with a centred anchor" if anchored else f"(size {a.size}: no anchor)"
            return "equal", (f"only the mode differs and {names} equals its 180° rotation "
                             f"{why}, so correlate == convolve")
        return "different", _why_not_symmetric(kernels)
    if differs <= {"boundary", "cval", "mode"} and ("mode" not in differs or symmetric):
        what = " and ".join(sorted(differs - {"mode"}))
        extra = " (the mode too, but the kernel is symmetric)" if "mode" in differs else ""
        return "border only", (f"only the {what} differs{extra}: the extension beyond the "
                               "edge changes only pixels the kernel reaches over it")
    if "mode" in differs:
        return "different", _why_not_symmetric(kernels)
    return "different", f"{', '.join(sorted(differs))} differ"


def _why_not_symmetric(kernels: Sequence[Kernel]) -> str:
    for k in kernels:
        if not k.symmetric:
            return (f"the mode differs and {k.name} is not equal to its 180° rotation: "
                    "convolve applies it rotated, correlate does not")
        if not k.anchor_is_centred:
            return (f"the mode differs and {k.name}'s anchor {k.center} is not centred "
                    "(an even size or an explicit anchor): the results are shifted")
    return "the mode differs"


def reach(kernels: Sequence[Kernel], v: Variant) -> tuple[int, int, int, int]:
    """(top, left, span_y, span_x): output (y, x) reads input rows y-top .. y-top+span_y."""
    top = left = sy = sx = 0
    for k in kernels:
        kk = k.flipped() if v.mode == "convolve" else k
        (t, _), (lf, _) = pads(kk, v.size)
        top, left = top + t, left + lf
        sy, sx = sy + kk.shape[0] - 1, sx + kk.shape[1] - 1
    return top, left, sy, sx


def interior_mask(shape: tuple[int, int], in_shape: tuple[int, int],
                  kernels: Sequence[Kernel], variants: Sequence[Variant]) -> npt.NDArray[np.bool_]:
    """Output positions where every variant's kernels lie wholly inside the image."""
    h, w = shape
    mask = np.ones((h, w), dtype=bool)
    for v in variants:
        top, left, sy, sx = reach(kernels, v)
        ys = np.arange(h)
        xs = np.arange(w)
        ok_y = (ys - top >= 0) & (ys - top + sy <= in_shape[0] - 1)
        ok_x = (xs - left >= 0) & (xs - left + sx <= in_shape[1] - 1)
        mask &= ok_y[:, None] & ok_x[None, :]
    return mask


def tolerance(kernels: Sequence[Kernel], image: npt.NDArray[Any] | float,
              variants: Sequence[Variant], image_dtype: np.dtype[Any]) -> float:
    """docs/semantics.md §1's T for the chain: eps × Π sum|F| × max(max|I|, |cval|)
    (``image``: the image, or its max|I| already found)."""
    single = any(v.precision == "single" or (v.precision == "auto" and image_dtype != np.float64)
                 for v in variants)
    eps = EPS["single" if single else "double"]
    scale = float(np.prod([k.abs_sum for k in kernels])) if kernels else 1.0
    peak = image if isinstance(image, float) else _peak(image)
    top = max([peak] + [abs(float(v.cval)) for v in variants])
    return eps * scale * top


def _peak(image: npt.NDArray[Any]) -> float:
    """max|I| without a full-size temporary."""
    return max(abs(float(image.min())), abs(float(image.max()))) if image.size else 0.0


@dataclass(frozen=True)
class FailOnDiff:
    """The verdict of ``fail_on_diff``: the tolerance it used, whether the run failed, why."""

    tolerance: float | None
    failed: bool
    why: str


@dataclass
class DiffReport:
    """What ``diff`` found: the statistics of :func:`~imgconv.compare.compare`, the
    tolerance, the prediction and whether it held, each variant, the kernel; the image
    compared, the ``fail_on_diff`` verdict and the files written, once known.
    :meth:`as_dict` is ``diff --json`` and ``report.json``."""

    stats: dict[str, Any]  # compare()'s keys, in its order
    tolerance: float
    prediction: str
    reason: str
    prediction_held: bool
    a: dict[str, Any]
    b: dict[str, Any]
    kernel: dict[str, Any]
    filters: list[str]
    image: str | None = None
    fail_on_diff: FailOnDiff | None = None
    written: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as data, in the order ``diff --json`` prints it."""
        out = {**self.stats, "tolerance": self.tolerance, "prediction": self.prediction,
               "reason": self.reason, "predicted_equal": self.prediction == "equal",
               "prediction_held": self.prediction_held, "a": self.a, "b": self.b,
               "kernel": self.kernel, "filters": self.filters}
        if self.image is not None:
            out["image"] = self.image
        if self.fail_on_diff is not None:
            out["fail_on_diff"] = asdict(self.fail_on_diff)
        if self.written is not None:
            out["written"] = self.written
        return out


@dataclass
class DiffOutcome:
    """Everything ``diff`` computed: both results, the statistics, the prediction.

    ``a_values``/``b_values`` are the float results the statistics describe (after
    ``abs`` and ``offset``, before rounding); ``finishing`` the options that round them
    as ``apply`` would (abs and offset already applied; its ``dtype`` the output's).
    """

    report: DiffReport
    a: Result
    b: Result
    a_values: npt.NDArray[np.floating]
    b_values: npt.NDArray[np.floating]
    finishing: FilterOptions
    in_dtype: Any = None
    keep_last: bool = False  # the last channel is alpha

    def outputs(self) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]]:
        """Both outputs as ``apply`` would write them (:func:`imgconv.chain.finish` of the
        float results, whose abs and offset are already applied), a band of rows at a
        time: no full-size float copy (asked only for a report)."""
        return (self._output(self.a_values, self.a.finite_source),
                self._output(self.b_values, self.b.finite_source))

    def _output(self, values: npt.NDArray[np.floating],
                finite_source: bool) -> npt.NDArray[np.generic]:
        out = np.empty(values.shape, np.dtype(self.finishing.dtype))
        step = max(1, (1 << 20) // max(1, values[0].size))
        for y0 in range(0, values.shape[0], step):
            out[y0:y0 + step] = finish(values[y0:y0 + step], self.finishing,
                                       in_dtype=self.in_dtype, keep_last=self.keep_last,
                                       finite_source=finite_source)
        return out


def run_diff(
    image: npt.NDArray[Any],
    kernels: Sequence[Kernel],
    a: Variant,
    b: Variant,
    *,
    base: FilterOptions,
    has_alpha: bool = False,
    file_dtype: np.dtype[Any] | None = None,
) -> DiffOutcome:
    """Filter ``image`` both ways and compare (floats before, then after quantisation).

    The output dtype is ``base.dtype``, else the file's.  ``file_dtype`` is the image
    file's own dtype (``image`` may be a ``gray`` float copy; default ``image``'s): a
    float output of an 8/16-bit file keeps its PSNR peak, and its maximum is an opaque
    alpha.
    """
    ka = variant_kernels(a, kernels, base.normalize)
    kb = variant_kernels(b, kernels, base.normalize)
    base = base.replace(normalize=False)  # done once, above, for both variants
    if not ka or not kb:
        raise ImgconvError("no filter given: add -f FILTER, or filter=... in both variants")
    prediction, reason = predict(a, b, ka, kb)
    own = np.dtype(file_dtype) if file_dtype is not None else image.dtype
    out_dtype = base.dtype or str(own)
    results = []
    keep_last = has_alpha and image.ndim == 3  # alpha: no abs/offset/rescale
    for v, ks in ((a, ka), (b, kb)):
        opts = base.replace(**{k: getattr(v, k) for k in VARIANT_KEYS})
        r = _filtered(image, ks, opts, has_alpha=has_alpha, alpha_max=dtype_max(own))
        float_stage(r.values, base, keep_last=keep_last)  # in place: no second copy
        results.append(r)
    ra, rb = results
    va, vb = ra.values, rb.values
    if va.shape != vb.shape:
        raise ImgconvError(f"the variants give different shapes {va.shape} and {vb.shape}")
    top = _peak(image)  # one pass over the image for both chains
    tol = max(tolerance(ka, top, (a, b), image.dtype), tolerance(kb, top, (a, b), image.dtype))
    mask = (interior_mask(va.shape[:2], image.shape[:2], ka, (a,))
            & interior_mask(va.shape[:2], image.shape[:2], kb, (b,)))
    peak = None
    if np.dtype(out_dtype).kind == "f" and own.kind in "ui":
        peak = dtype_max(own)  # a float output of an 8/16-bit image keeps its range
    stats = compare(va, vb, dtype=out_dtype, tolerance=tol, interior=mask, peak=peak)
    if prediction == "equal":
        held = stats["max_abs_diff"] <= tol
    elif prediction == "border only":
        held = stats["interior"]["max_abs_diff"] <= tol
    else:
        held = not stats["identical"]
    if prediction == "equal" and held and stats["differing_pixels"]:
        reason += (f"; the {stats['differing_pixels']} pixels that differ after rounding hold "
                   "values within round-off of a .5 boundary, which round apart")
    report = DiffReport(stats, tol, prediction, reason, bool(held), _variant_info(a, ka, ra),
                        _variant_info(b, kb, rb), _kernel_info(ka), [k.name for k in ka])
    finishing = base.replace(abs=False, offset=0.0, rescale=False, dtype=out_dtype)
    return DiffOutcome(report, ra, rb, va, vb, finishing, own, keep_last)


@dataclass
class DiffRun:
    """One image file filtered two ways (``diff``, ``apply --report``): the page as it was
    filtered (a ``gray`` copy) and the outcome."""

    frame: Frame
    outcome: DiffOutcome

    @property
    def array(self) -> npt.NDArray[Any]:
        """The image as filtered."""
        return self.frame.pixels

    @classmethod
    def compute(cls, image: Path, kernels: Sequence[Kernel], a: Variant, b: Variant,
                options: FilterOptions, files: FileOptions) -> DiffRun:
        """Read ``image`` (the read step of ``apply``: one page, ``files.gray``,
        ``files.auto_orient``) and filter it as variants ``a`` and ``b``."""
        read = read_step(image, files)
        if read.image.pages > 1:
            raise ImgconvError(f"{{file}}: has {read.image.pages} pages or frames: diff "
                               "compares one: pick it with {page!s}", values={"page": "N"},
                               file=image)
        frame = next(read.frames())
        try:
            outcome = run_diff(frame.pixels, kernels, a, b, base=options,
                               has_alpha=frame.has_alpha, file_dtype=frame.dtype)
        except ImgconvError as exc:  # every error names the file
            raise exc.about(image) from exc.__cause__
        outcome.report.image = str(image)
        return cls(frame, outcome)


#: an image of more samples than this is filtered band by band (no float copy of it whole)
BANDED_SAMPLES = 1 << 22
_BAND_BYTES = 64 << 20  # the working memory of one band


def _filtered(image: npt.NDArray[Any], kernels: Sequence[Kernel], options: FilterOptions, *,
              has_alpha: bool, alpha_max: float) -> Result:
    """One variant's float result: :func:`~imgconv.chain.run_filters`, or for a large
    image and one kernel the same passes band by band (:func:`imgconv.bands.run.band_pieces`,
    equal to the whole-image result to round-off) into one float array, so that the
    image's float working copy is never made whole — what keeps a camera-size ``diff``
    within its memory."""
    if (len(kernels) != 1 or image.size <= BANDED_SAMPLES or options.alpha == "premultiply"
            or image.dtype.kind not in "ui"):
        return run_filters(image, kernels, options, has_alpha=has_alpha, alpha_max=alpha_max)
    from imgconv.bands.run import band_pieces
    from imgconv.bands.sources import ArraySource

    methods: list[str] = []
    keep_alpha = has_alpha and image.ndim == 3
    out: npt.NDArray[np.floating] | None = None
    y = 0
    for piece in band_pieces(ArraySource(image), kernels[0], options, _BAND_BYTES, keep_alpha,
                             None, methods):
        if out is None:
            rows = _rows_out(image, kernels[0], options)
            out = np.empty((rows,) + piece.shape[1:], piece.dtype)
        out[y:y + piece.shape[0]] = piece
        y += piece.shape[0]
    assert out is not None and y == out.shape[0]
    return Result(out, methods, [], True, kernels[0].sum)


def _rows_out(image: npt.NDArray[Any], kernel: Kernel, options: FilterOptions) -> int:
    from imgconv.engine.geometry import output_geometry

    applied = kernel.flipped() if options.mode == "convolve" else kernel
    return int(output_geometry(image.shape[:2], applied, options.size).out_shape[0])


def _variant_info(v: Variant, ks: Sequence[Kernel], r: Result) -> dict[str, Any]:
    return {**v.as_dict(), "filters": [k.name for k in ks],
            "method_used": "+".join(dict.fromkeys(r.methods)), "label": v.label()}


def _kernel_info(kernels: Sequence[Kernel]) -> dict[str, Any]:
    if len(kernels) == 1:
        k = kernels[0]
        return {"name": k.name, "shape": list(k.shape), "anchor": list(k.center),
                "symmetric": k.symmetric, "rank": k.rank, "scale": k.scale,
                "weights": k.weights.tolist()}
    return {"name": "+".join(k.name for k in kernels),
            "chain": [_kernel_info([k]) for k in kernels],
            "symmetric": all(k.symmetric for k in kernels),
            "shape": None, "anchor": None, "rank": None}
