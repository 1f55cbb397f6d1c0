"""Filtering an image larger than memory, band by band, with its output streamed.

Each band is the engine's :func:`~imgconv.engine.filter_band` on the rows its kernel
reaches (gathered by :mod:`imgconv.bands.sources`), passed through the same
:func:`imgconv.chain.apply_kernel` and :func:`imgconv.chain.finish` as a whole image,
so a banded result equals the whole-image result to round-off.  A chain of filters
runs one streamed pass per filter through a hidden float ``.npy`` beside the output
(``.NAME.RANDOM.stepI.npy``, a :class:`~imgconv.outputs.Temporary`: removed afterwards, also
when interrupted); ``rescale`` adds a pass for the global minimum and maximum.
With a Dask ``client`` the bands are computed on a cluster.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imgconv.bands.memory import band_rows, whole_image_bytes
from imgconv.bands.sinks import TILE, NpySink, rebanded, write_stream
from imgconv.bands.sources import NpySource, RowSource, TiffSource, gather, open_source
from imgconv.boundary import boundary_mode
from imgconv.chain import apply_kernel, finish, float_stage, normalized
from imgconv.engine import filter_band, working_dtype
from imgconv.engine.geometry import output_geometry
from imgconv.errors import ImgconvError, OutputError
from imgconv.formats import STREAMING, Meta, check_output_dtype
from imgconv.kernels import Kernel
from imgconv.options import FileOptions, FilterOptions
from imgconv.outputs import FileRecord, atomic_write, write_error
from imgconv.temporaries import Temporary

Progress = Callable[[int, int], None]
IN_FLIGHT = 4  # bands submitted ahead to a cluster (bounds this process's memory)


@dataclass
class BandJob:
    """What every band of one pass needs (picklable: it travels to Dask workers)."""

    kernel: Kernel  # as correlated (rotated for convolve)
    options: FilterOptions  # mode="correlate": ``kernel`` is already as applied
    top: int  # rows of halo above the first output row
    keep_alpha: bool
    methods: list[str] = field(default_factory=list)


@dataclass
class _Passes:
    """What every pass of one banded file shares: the options, the memory limit, whether
    the last channel is alpha, who follows the bands, the methods used, the cluster."""

    options: FilterOptions
    limit: int
    alpha: bool
    progress: Progress | None
    client: Any
    methods: list[str] = field(default_factory=list)

    def pieces(self, source: RowSource, k: Kernel) -> Iterator[npt.NDArray[np.floating]]:
        return band_pieces(source, k, self.options, self.limit, self.alpha, self.progress,
                           self.methods, self.client)


def process_file_tiled(
    src: Path,
    dst: Path,
    kernels: Sequence[Kernel],
    options: FilterOptions,
    files: FileOptions,
    *,
    progress: Progress | None = None,
    client: Any = None,
    meta: Meta | None = None,
) -> FileRecord:
    """``apply`` for one image too large for memory: band by band (bands within
    ``files.memory_limit``; None: no limit), output streamed; ``files.page`` picks a page,
    ``files.overwrite`` may replace the output; ``meta`` (what the output carries: ICC
    profile, dpi, EXIF) goes into a TIFF output."""
    t0 = time.perf_counter()
    ext = dst.suffix.lower()
    if ext not in STREAMING:
        raise OutputError(f"{{file}}: a result larger than memory_limit can be written only as "
                          f"{' or '.join(STREAMING)}", param="memory_limit", file=dst)
    if options.alpha == "premultiply":
        raise ImgconvError("{alpha[0]} is not available for images filtered in bands: "
                           "raise {memory_limit!s} or use {alpha[1]} or {alpha[2]}",
                           values={"alpha": ("premultiply", "keep", "filter"), "memory_limit": ""})
    limit = files.memory_limit if files.memory_limit is not None else 2**62
    source = open_source(src, files.page)
    out_dtype = np.dtype(options.dtype or str(source.dtype))
    if client is not None:  # bands small enough that the cluster's workers share the image
        whole = whole_image_bytes(source.shape, source.dtype.itemsize,
                                  np.dtype(_float(source, options)).itemsize)
        limit = min(limit, max(10**7, whole // 8))
    check_output_dtype(dst, str(out_dtype))
    run = _Passes(options, limit, isinstance(source, TiffSource) and source.has_alpha,
                  progress, client)
    ks = [normalized(k) if options.normalize else k for k in kernels]
    opened: list[RowSource] = [source]
    temps: list[Temporary] = []
    try:
        current = source
        for i, k in enumerate(ks if options.rescale else ks[:-1]):
            current = _pass_to_npy(run, current, k, _temp_step(dst, i, temps), dst)
            opened.append(current)
        last = None if options.rescale else ks[-1]
        shape = _write_final(run, dst, current, last, (source.dtype, out_dtype),
                             files.overwrite, meta or {})
    finally:
        for s in opened:
            s.close()
        for t in temps:
            t.close()
    return FileRecord(str(src), str(dst), [k.name for k in kernels], options.mode,
                      "+".join(dict.fromkeys(run.methods)), options.boundary, list(shape),
                      str(out_dtype), round(time.perf_counter() - t0, 4), tiled=True)


def _temp_step(dst: Path, i: int, temps: list[Temporary]) -> str:
    """A hidden ``.NAME.RANDOM.stepI.npy`` beside the output for pass ``i`` of a chain
    (locked while this run uses it: a later run removes it only if this one was killed)."""
    try:
        step = Temporary(dst, f"step{i}.npy")
    except OSError as exc:
        raise write_error(dst, exc) from exc
    temps.append(step)
    return step.path


def _pass_to_npy(run: _Passes, current: RowSource, k: Kernel, tmp: str,
                 dst: Path) -> RowSource:
    """One filter of a chain, its float result streamed into ``tmp`` (a step of ``dst``)."""
    options = run.options
    shape = _out_shape(current.shape, _applied(k, options), options)
    try:
        sink = NpySink(tmp, shape, np.dtype(_float(current, options)))
        try:
            y = 0
            for rows in run.pieces(current, k):
                sink.write(y, rows)
                y += rows.shape[0]
        finally:
            sink.close()
    except OSError as exc:  # the step file: disk full is about the output being made
        raise write_error(dst, exc) from exc
    return NpySource(Path(tmp))


def _write_final(run: _Passes, dst: Path, current: RowSource, last: Kernel | None,
                 dtypes: tuple[np.dtype[Any], np.dtype[Any]], overwrite: bool,
                 meta: Meta) -> tuple[int, ...]:
    """The last filter (or, under ``rescale``, the last pass read back), finished and
    streamed into ``dst`` atomically; ``dtypes`` are the input's and the output's;
    returns the output's shape."""
    options, alpha = run.options, run.alpha
    in_dtype, out_dtype = dtypes
    value_range = None
    if options.rescale:
        value_range = _min_max(current, run.limit, alpha, options)

    def done(values: npt.NDArray[np.floating]) -> npt.NDArray[Any]:
        # a float source may hold NaN/inf, kept local (each band's engine pass has already
        # refused an overflow from finite values)
        return finish(values, options, in_dtype=in_dtype, keep_last=alpha,
                      value_range=value_range, finite_source=in_dtype.kind != "f")

    if last is not None:
        shape = _out_shape(current.shape, _applied(last, options), options)
        pieces = run.pieces(current, last)
    else:
        shape = current.shape
        pieces = (current.read(y, min(shape[0], y + TILE)) for y in range(0, shape[0], TILE))

    def writer(tmp: str) -> None:
        write_stream(tmp, dst.suffix.lower(), shape, out_dtype, rebanded(pieces, done),
                     alpha=alpha, meta=meta)

    atomic_write(dst, writer, overwrite=overwrite)
    return shape


def _applied(k: Kernel, options: FilterOptions) -> Kernel:
    return k.flipped() if options.mode == "convolve" else k


def _float(source: RowSource, options: FilterOptions) -> type[np.floating]:
    return working_dtype(source.dtype, options.precision)


def _out_shape(shape: tuple[int, ...], k: Kernel, options: FilterOptions) -> tuple[int, ...]:
    return output_geometry(shape[:2], k, options.size).out_shape + shape[2:]


def band_pieces(source: RowSource, k: Kernel, options: FilterOptions, limit: int,
                keep_alpha: bool, progress: Progress | None, methods: list[str],
                client: Any = None) -> Iterator[npt.NDArray[np.floating]]:
    """Filtered float bands of ``source`` in order (the file offset added)."""
    kk = _applied(k, options)
    kh, kw = kk.shape
    geo = output_geometry(source.shape[:2], kk, options.size)
    fdt = _float(source, options)
    c = source.shape[2] if len(source.shape) == 3 else 1
    band = band_rows(limit, source.shape[1] + kw, c, source.dtype.itemsize,
                     np.dtype(fdt).itemsize, kh - 1)
    if band >= TILE:
        band = band // TILE * TILE
    ho = geo.out_shape[0]
    spans = [(y0, min(ho, y0 + band)) for y0 in range(0, ho, band)]
    # alpha apart (moved by a one-hot kernel) only under alpha='keep'; 'filter' filters it
    job = BandJob(kk, options.replace(mode="correlate"), geo.pads[0][0],
                  keep_alpha and options.alpha == "keep")
    if client is None:
        results: Iterator[tuple[npt.NDArray[np.floating], str]] = (
            one_band(source, job, y0, y1) for y0, y1 in spans)
    else:
        results = _on_cluster(client, source, job, spans)
    for n, (out, used) in enumerate(results):
        methods.append(used)
        yield out
        if progress is not None:
            progress(n + 1, len(spans))


def one_band(source: RowSource, job: BandJob, y0: int,
             y1: int) -> tuple[npt.NDArray[np.floating], str]:
    """Output rows ``y0..y1`` of one pass: the halo gathered by the boundary rule, then
    the chain's :func:`~imgconv.chain.apply_kernel` with the band engine."""
    opts = job.options
    kh = job.kernel.shape[0]
    h = source.shape[0]
    idx = np.arange(y0 - job.top, y1 - job.top + kh - 1, dtype=np.int64)
    rows = gather(source, boundary_mode(opts.boundary).index(idx, h), opts.cval,
                  _float(source, opts))
    colour, alpha = rows, None
    if job.keep_alpha:
        colour = rows[..., :-1] if rows.shape[-1] > 2 else rows[..., 0]
        alpha = rows[..., -1]
    colour, alpha, used = apply_kernel(colour, alpha, job.kernel, opts, run=filter_band)
    if alpha is not None:
        colour = np.concatenate([colour if colour.ndim == 3 else colour[..., None],
                                 alpha[..., None]], axis=2)
    return colour, used


def _band_task(path: str, page: int | None, job: BandJob, y0: int,
               y1: int) -> tuple[npt.NDArray[np.floating], str]:
    """One band, on a Dask worker: reopen the file by its path, compute, close."""
    source = open_source(Path(path), page)
    try:
        return one_band(source, job, y0, y1)
    finally:
        source.close()


def _on_cluster(client: Any, source: RowSource, job: BandJob,
                spans: list[tuple[int, int]]) -> Iterator[tuple[npt.NDArray[np.floating], str]]:
    """Bands computed on a Dask cluster (workers reopen the file by its path, so they
    must see the same file system), a few in flight, returned in order."""
    path, page = source.location()
    pending: list[Any] = []
    queue = list(spans)
    while queue or pending:
        while queue and len(pending) < IN_FLIGHT:
            y0, y1 = queue.pop(0)
            pending.append(client.submit(_band_task, str(path), page, job, y0, y1, pure=False))
        yield pending.pop(0).result()


def _min_max(source: RowSource, limit: int, keep_alpha: bool,
             options: FilterOptions) -> tuple[float, float]:
    """The finite range of the colour after abs and offset (the chain's
    :func:`~imgconv.chain.float_stage`), as :func:`~imgconv.chain.finish` computes it for a
    whole image (in the same precision, so both round alike)."""
    lo, hi = math.inf, -math.inf
    row = max(1, int(np.prod(source.shape[1:])) * source.dtype.itemsize)
    step = max(1, limit // (row * 4))
    for y0 in range(0, source.shape[0], step):
        rows = source.read(y0, min(source.shape[0], y0 + step))
        if keep_alpha:
            rows = rows[..., :-1]
        if options.abs or options.offset:
            rows = np.array(rows)  # a copy: the stage works in place
            float_stage(rows, options)
        finite = rows[np.isfinite(rows)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return (lo, hi) if lo <= hi else (0.0, 0.0)
