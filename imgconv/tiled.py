"""Images larger than memory: filtering in horizontal bands with a bounded working set.

The output is computed band by band.  Each band reads the input rows its kernel
reaches (its *halo*); rows beyond the true image edge are produced by the boundary
mode from the row index alone (reflect, mirror, nearest, wrap fetching the opposite
side, constant rows of ``cval``), and the band is extended horizontally as the whole
image would be.  So a tiled result equals the untiled one to round-off.

Streaming inputs: ``.npy`` and TIFF (uncompressed contiguous by offset; striped or
tiled compressed by decoding only the segments a band needs).  Streaming outputs:
``.npy`` and tiled TIFF.  Other formats are read whole.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from imgconv.boundary import canonical_boundary
from imgconv.errors import ImageError, ImgconvError, OutputError
from imgconv.kernels import Kernel

STREAM_IN = (".npy", ".tif", ".tiff")
STREAM_OUT = (".npy", ".tif", ".tiff")
TILE = 256  # output TIFF tile side

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9,
          "GB": 10**9, "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}


def parse_size(text: str) -> int:
    """``256MB``, ``2GiB``, ``1.5GB``, ``500000000``: MB/GB decimal, MiB/GiB binary."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else ""
    if m is None or unit not in _UNITS:
        raise ImgconvError(f"--memory-limit {text!r}: use a size like 256MB, 2GB, 512MiB or "
                           "2GiB (MB/GB decimal, MiB/GiB binary)")
    value = int(float(m.group(1)) * _UNITS[unit])
    if value < 10**7:
        raise ImgconvError(f"--memory-limit {text!r} is too small: use at least 10MB (units: "
                           "MB, GB decimal; MiB, GiB binary; a bare number is bytes)")
    return value


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (Linux), else physical memory, else 4 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def default_limit() -> int:
    """Without ``--memory-limit``: half of the memory available now."""
    return max(available_memory() // 2, 64 * 2**20)


def bytes_per_row(width: int, channels: int, in_itemsize: int, float_size: int) -> int:
    """Working bytes per image row: the input, the float copy, the extended copy, the
    result, the FFT spectra and the quantised output (a generous estimate)."""
    return width * channels * (in_itemsize * 2 + float_size * 6)


def whole_image_bytes(shape: tuple[int, ...], in_itemsize: int, float_size: int) -> int:
    h, w = shape[:2]
    c = shape[2] if len(shape) == 3 else 1
    return h * bytes_per_row(w, c, in_itemsize, float_size)


# -- row sources -----------------------------------------------------------------------------
class RowSource(Protocol):
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]: ...

    def close(self) -> None: ...

    def location(self) -> tuple[Path, int | None]: ...


class ArraySource:
    """Rows of an array already in memory (cannot be sent to a cluster by path)."""

    def __init__(self, array: npt.NDArray[Any]):
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = array.dtype

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]:
        return np.asarray(self.array[y0:y1])

    def close(self) -> None:
        pass

    def location(self) -> tuple[Path, int | None]:
        raise ImgconvError("an image in memory cannot be filtered on a cluster")


class NpySource:
    """Rows of a C-ordered ``.npy`` file, read with plain file reads (no mapping)."""

    def __init__(self, path: Path):
        self.fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        version = np.lib.format.read_magic(self.fh)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(self.fh)
        if fortran or dtype.hasobject or len(shape) not in (2, 3):
            self.fh.close()
            raise ImageError(f"{path}: a .npy image must be a C-ordered H×W or H×W×C array")
        self.offset = self.fh.tell()
        self.path = path
        self.shape = tuple(shape)
        self.dtype = dtype
        self.row = int(np.prod(shape[1:])) * dtype.itemsize

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]:
        self.fh.seek(self.offset + y0 * self.row)
        data = self.fh.read((y1 - y0) * self.row)
        if len(data) != (y1 - y0) * self.row:
            raise ImageError(f"{self.fh.name}: truncated: the header promises "
                             f"{self.shape} but the file ends early")
        return np.frombuffer(data, dtype=self.dtype).reshape((y1 - y0,) + self.shape[1:])

    def close(self) -> None:
        self.fh.close()

    def location(self) -> tuple[Path, int | None]:
        return self.path, None


class TiffSource:
    """Rows of one TIFF page: by offset when uncompressed and contiguous, else by
    decoding only the strips or tiles a band needs."""

    def __init__(self, path: Path, page: int = 0):
        from imgconv.pixels import _quiet_tifffile

        tifffile = _quiet_tifffile()
        self.path = path
        self.page_index = page
        self.tif = tifffile.TiffFile(path)
        pages = self.tif.pages
        if not 0 <= page < len(pages):
            self.tif.close()
            raise ImageError(f"{path}: --page {page} is out of range (0 to {len(pages) - 1})")
        pg = pages[page]
        self.page: Any = pg
        shape = tuple(pg.shape)
        if len(shape) not in (2, 3) or getattr(pg, "planarconfig", 1) == 2 and len(shape) == 3:
            self.tif.close()
            raise ImageError(f"{path}: cannot stream this TIFF layout {shape}")
        self.shape = shape
        self.dtype = np.dtype(pg.dtype)
        contiguous = pg.is_contiguous  # a bool, or (offset, bytecount) in older tifffile
        self.offset: int | None = None
        if isinstance(contiguous, tuple):
            self.offset = int(contiguous[0])
        elif contiguous and pg.compression == 1:
            self.offset = int(pg.dataoffsets[0])
        self.has_alpha = bool(getattr(pg, "extrasamples", ())) and len(shape) == 3
        self.row_values = int(np.prod(shape[1:]))

    def read(self, y0: int, y1: int) -> npt.NDArray[Any]:
        if self.offset is not None:
            offset = self.offset
            fh = self.tif.filehandle
            dt = np.dtype(self.tif.byteorder + self.dtype.char)
            fh.seek(offset + y0 * self.row_values * dt.itemsize)
            data = fh.read((y1 - y0) * self.row_values * dt.itemsize)
            if len(data) != (y1 - y0) * self.row_values * dt.itemsize:
                raise ImageError(f"{self.path}: truncated: the header promises {self.shape} "
                                 "but the file ends early")
            arr = np.frombuffer(data, dtype=dt).reshape((y1 - y0,) + self.shape[1:])
            return arr.astype(self.dtype, copy=False)
        return self._decode_rows(y0, y1)

    def _decode_rows(self, y0: int, y1: int) -> npt.NDArray[Any]:
        pg = self.page
        h, w = self.shape[:2]
        out = np.empty((y1 - y0,) + self.shape[1:], dtype=self.dtype)
        if pg.is_tiled:
            th, tw = pg.tilelength, pg.tilewidth
            ntx = math.ceil(w / tw)
            seg_rows = [(ty, ty * th) for ty in range(y0 // th, (y1 - 1) // th + 1)]
            indices = [(ty * ntx + tx, ty * th, tx * tw) for ty, _ in seg_rows
                       for tx in range(ntx)]
        else:
            rps = min(pg.rowsperstrip or h, h)
            indices = [(i, i * rps, 0) for i in range(y0 // rps, (y1 - 1) // rps + 1)]
        fh = self.tif.filehandle
        for index, sy, sx in indices:
            if index >= len(pg.dataoffsets):
                raise ImageError(f"{self.path}: damaged: segment {index} is missing")
            fh.seek(pg.dataoffsets[index])
            data = fh.read(pg.databytecounts[index])
            try:
                seg, _, _ = pg.decode(data, index, jpegtables=getattr(pg, "jpegtables", None))
            except Exception as exc:
                raise ImageError(f"{self.path}: damaged: cannot decode segment {index} "
                                 f"({exc})") from exc
            if seg is None:
                raise ImageError(f"{self.path}: damaged: segment {index} is empty")
            seg = np.asarray(seg)
            dims: tuple[int, ...] = seg.shape[-3:] if len(self.shape) == 3 else seg.shape[-3:-1]
            seg = seg.reshape(dims)
            rows = seg.shape[0]
            a0, a1 = max(sy, y0), min(sy + rows, y1, h)
            if a1 <= a0:
                continue
            cols = min(seg.shape[1], w - sx)
            out[a0 - y0 : a1 - y0, sx : sx + cols] = seg[a0 - sy : a1 - sy, :cols]
        return out

    def close(self) -> None:
        self.tif.close()

    def location(self) -> tuple[Path, int | None]:
        return self.path, self.page_index


def open_source(path: Path, page: int | None) -> RowSource:
    ext = path.suffix.lower()
    try:
        if ext == ".npy":
            return NpySource(path)
        if ext in (".tif", ".tiff"):
            return TiffSource(path, page or 0)
    except ImgconvError:
        raise
    except Exception as exc:
        raise ImageError(f"{path}: cannot read as an image ({exc})") from exc
    raise ImageError(f"{path}: {ext} files cannot be streamed")


# -- row sinks -------------------------------------------------------------------------------
class NpySink:
    """A ``.npy`` file written row band by row band."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype[Any]):
        self.shape, self.dtype = shape, dtype
        self.fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed by close()
        np.lib.format.write_array_header_2_0(
            self.fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                      "shape": shape})
        self.fh.truncate(self.fh.tell() + int(np.prod(shape)) * dtype.itemsize)

    def write(self, y0: int, rows: npt.NDArray[Any]) -> None:
        row = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        self.fh.seek(len(self._header()) + y0 * row)
        self.fh.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())

    def _header(self) -> bytes:
        import io

        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(
            buf, {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": self.shape})
        return buf.getvalue()

    def close(self) -> None:
        self.fh.close()


def _tiff_tiles(bands: Iterator[npt.NDArray[Any]], shape: tuple[int, ...],
                dtype: np.dtype[Any]) -> Iterator[npt.NDArray[Any]]:
    """Re-cut bands of TILE rows into TILE×TILE tiles, row-major, edges zero-padded."""
    w = shape[1]
    for band in bands:
        for x in range(0, w, TILE):
            tile = np.zeros((TILE, TILE) + shape[2:], dtype=dtype)
            block = band[:, x : x + TILE]
            tile[: block.shape[0], : block.shape[1]] = block
            yield tile


# -- the band loop ---------------------------------------------------------------------------
def source_rows(indices: npt.NDArray[np.int64], h: int, boundary: str) -> npt.NDArray[np.int64]:
    """Map row indices beyond ``0..h-1`` by the boundary mode; -1 marks a cval row."""
    i = indices
    if boundary == "reflect":
        m = np.mod(i, 2 * h)
        return np.where(m < h, m, 2 * h - 1 - m)
    if boundary == "mirror":
        if h == 1:
            return np.zeros_like(i)
        m = np.mod(i, 2 * h - 2)
        return np.where(m < h, m, 2 * h - 2 - m)
    if boundary == "nearest":
        return np.clip(i, 0, h - 1)
    if boundary == "wrap":
        return np.mod(i, h)
    return np.where((i >= 0) & (i < h), i, -1)


def gather(source: RowSource, rows: npt.NDArray[np.int64], cval: float,
           dtype: type[np.floating]) -> npt.NDArray[np.floating]:
    """The listed rows of ``source`` (as ``dtype``), reading each contiguous run once."""
    out = np.empty((len(rows),) + source.shape[1:], dtype=dtype)
    start = 0
    while start < len(rows):
        r = rows[start]
        end = start + 1
        if r < 0:
            while end < len(rows) and rows[end] < 0:
                end += 1
            out[start:end] = cval
        else:
            step = 1 if end >= len(rows) or rows[end] >= r else -1
            while end < len(rows) and rows[end] == rows[end - 1] + step and rows[end] >= 0:
                end += 1
            lo, hi = (r, rows[end - 1] + 1) if step == 1 else (rows[end - 1], r + 1)
            block = source.read(int(lo), int(hi))
            out[start:end] = block if step == 1 else block[::-1]
        start = end
    return out


def band_rows(limit: int, width: int, channels: int, in_itemsize: int, float_size: int,
              halo: int) -> int:
    """Output rows per band so that a band's working set stays under ``limit``."""
    per_row = bytes_per_row(width, channels, in_itemsize, float_size)
    rows = limit // per_row - halo
    if rows < 1:
        need = (halo + 1) * per_row
        raise ImgconvError(
            f"--memory-limit {limit / 1e6:.0f}MB is too small for rows of {width} pixels and a "
            f"kernel reaching {halo} rows: use at least {math.ceil(need / 1e6)}MB"
        )
    return int(rows)


def needs_tiling(shape: tuple[int, ...], dtype: np.dtype[Any], precision: str,
                 limit: int) -> bool:
    from imgconv.engine import working_dtype

    fdt = working_dtype(dtype, precision)
    return whole_image_bytes(shape, dtype.itemsize, np.dtype(fdt).itemsize) > limit


def header_shape(path: Path, page: int | None) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """(shape, dtype, pages) of a streamable file without reading its pixels."""
    from imgconv.pixels import guard_pixels

    src = open_source(path, page)
    try:
        pages = 1
        if isinstance(src, TiffSource):
            pages = len(src.tif.pages)
        guard_pixels(str(path), src.shape[0], src.shape[1])
        return src.shape, src.dtype, pages
    finally:
        src.close()


def process_file_tiled(
    src: Path,
    dst: Path,
    kernels: Sequence[Kernel],
    options: Any,
    *,
    limit: int,
    dtype: str | None = None,
    page: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> dict[str, object]:
    """``apply`` for one image too large for memory: band by band, output streamed.

    With ``scheduler`` (a Dask address) the bands are computed on that cluster.

    A chain of filters runs one streamed pass per filter through a temporary float
    ``.npy`` beside the output (removed afterwards); ``--rescale`` adds a pass for
    the global minimum and maximum.
    """
    import tempfile
    import time

    from imgconv.pipeline import finish, normalized
    from imgconv.pixels import atomic_write, check_output_dtype, dtype_max

    t0 = time.perf_counter()
    ext = dst.suffix.lower()
    if ext not in STREAM_OUT:
        raise OutputError(f"{dst}: a tiled (larger than --memory-limit) result can be written "
                          f"only as {' or '.join(STREAM_OUT)}")
    if options.alpha == "premultiply":
        raise ImgconvError("--alpha premultiply is not available for tiled images: raise "
                           "--memory-limit or use --alpha keep/filter")
    source = open_source(src, page)
    in_dtype = source.dtype
    out_dtype = np.dtype(dtype or str(in_dtype))
    if scheduler:  # bands small enough that the cluster's workers share the image
        whole = whole_image_bytes(source.shape, in_dtype.itemsize,
                                  np.dtype(_float(source, options)).itemsize)
        limit = min(limit, max(10**7, whole // 8))
    check_output_dtype(dst, str(out_dtype))
    alpha_ch = isinstance(source, TiffSource) and source.has_alpha
    keep_alpha = alpha_ch and options.alpha == "keep"
    ks = [normalized(k) if options.normalize else k for k in kernels]
    folder = dst.parent if str(dst.parent) else Path(".")
    temps: list[str] = []
    methods: list[str] = []
    opened: list[RowSource] = [source]
    client = _connect(scheduler) if scheduler else None
    try:
        current: RowSource = source
        passes = ks if options.rescale else ks[:-1]
        for i, k in enumerate(passes):
            fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.step{i}.", suffix=".npy",
                                       dir=folder)
            os.close(fd)
            temps.append(tmp)
            shape = _out_shape(current.shape, _applied(k, options), options.size)
            sink = NpySink(tmp, shape, np.dtype(_float(current, options)))
            try:
                y = 0
                for rows in _band_pieces(current, k, options, limit, keep_alpha, progress,
                                         methods, client):
                    sink.write(y, rows)
                    y += rows.shape[0]
            finally:
                sink.close()
            current = NpySource(Path(tmp))
            opened.append(current)
        last = None if options.rescale else ks[-1]
        lo, hi = (_min_max(current, limit, alpha_ch, options.abs) if options.rescale
                  else (0.0, 0.0))
        top = dtype_max(out_dtype)
        ratio = 1.0
        if in_dtype.kind in "ui" and out_dtype.kind in "ui" and in_dtype != out_dtype:
            ratio = top / dtype_max(in_dtype)

        def done(values: npt.NDArray[np.floating]) -> npt.NDArray[Any]:
            if not options.rescale:
                return finish(values, out_dtype, in_dtype=in_dtype, abs_=options.abs,
                              offset=options.offset, keep_last=alpha_ch)
            v = values.astype(values.dtype, copy=True)
            body = v[..., :-1] if alpha_ch else v
            if options.abs:  # as finish() does: abs, then the (global) range; offset cancels
                np.abs(body, out=body)
            if hi > lo:
                body -= body.dtype.type(lo)
                body *= body.dtype.type(top / (hi - lo))
            else:
                body[...] = 0
            if alpha_ch and ratio != 1.0:
                v[..., -1] *= v.dtype.type(ratio)
            return finish(v, out_dtype)

        shape_box: list[tuple[int, ...]] = []
        src_now = current

        def writer(tmp: str) -> None:
            if last is not None:
                out_shape = _out_shape(src_now.shape, _applied(last, options), options.size)
                pieces = _band_pieces(src_now, last, options, limit, keep_alpha, progress,
                                      methods, client)
            else:
                out_shape = src_now.shape
                pieces = (src_now.read(y, min(src_now.shape[0], y + TILE))
                          for y in range(0, src_now.shape[0], TILE))
            shape_box.append(out_shape)
            _write_stream(tmp, ext, out_shape, out_dtype, _rebanded(pieces, done),
                          alpha=alpha_ch)

        atomic_write(dst, writer, overwrite=overwrite)
    finally:
        if client is not None:
            client.close()
        for s in opened:
            s.close()
        for t in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(t)
    from imgconv.pipeline import FileRecord

    return FileRecord(str(src), str(dst), [k.name for k in kernels], options.mode,
                      "+".join(dict.fromkeys(methods)), options.boundary,
                      list(shape_box[0]) if shape_box else [], str(out_dtype),
                      round(time.perf_counter() - t0, 4), tiled=True)


def _connect(address: str) -> Any:
    """A Dask client for ``address`` (errors in imgconv's words)."""
    from imgconv.batch import check_scheduler

    check_scheduler(address)
    try:
        from distributed import Client
    except ImportError:
        raise ImgconvError("--scheduler needs Dask: pip install 'imgconv[dask]'") from None
    try:
        return Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ImgconvError(f"--scheduler {address}: cannot connect ({exc})") from None


def _applied(k: Kernel, options: Any) -> Kernel:
    return k.flipped() if options.mode == "convolve" else k


def _float(source: RowSource, options: Any) -> type[np.floating]:
    from imgconv.engine import working_dtype

    return working_dtype(source.dtype, options.precision)


def _out_shape(shape: tuple[int, ...], k: Kernel, size: str) -> tuple[int, ...]:
    h, w = shape[:2]
    kh, kw = k.shape
    d = {"same": (h, w), "full": (h + kh - 1, w + kw - 1), "valid": (h - kh + 1, w - kw + 1)}
    return d[size] + shape[2:]


def _band_pieces(source: RowSource, k: Kernel, options: Any, limit: int, keep_alpha: bool,
                 progress: Callable[[int, int], None] | None, methods: list[str],
                 client: Any = None) -> Iterator[npt.NDArray[np.floating]]:
    """Filtered float bands of ``source`` in order (offset of the file added).

    With a Dask ``client``, the bands are computed on the cluster (each task reopens the
    file by its path, so workers must see the same file system), a few in flight at a
    time, and come back in order.
    """
    kk = _applied(k, options)
    kh, kw = kk.shape
    h = source.shape[0]
    top, ho = {"same": (kk.center[0], h), "full": (kh - 1, h + kh - 1),
               "valid": (0, h - kh + 1)}[options.size]
    if ho < 1 or (options.size == "valid" and kw > source.shape[1]):
        raise ImgconvError(f"--size valid needs a kernel no larger than the image: kernel "
                           f"{kh}x{kw}, image {h}x{source.shape[1]}")
    fdt = _float(source, options)
    c = source.shape[2] if len(source.shape) == 3 else 1
    band = band_rows(limit, source.shape[1] + kw, c, source.dtype.itemsize,
                     np.dtype(fdt).itemsize, kh - 1)
    if band >= TILE:
        band = band // TILE * TILE
    starts = list(range(0, ho, band))
    spans = [(y0, min(ho, y0 + band)) for y0 in starts]
    if client is None:
        results: Iterator[tuple[npt.NDArray[np.floating], str]] = (
            _one_band(source, kk, options, y0, y1, top, keep_alpha) for y0, y1 in spans)
    else:
        results = _on_cluster(client, source, kk, options, spans, top, keep_alpha)
    for n, (out, used) in enumerate(results):
        methods.append(used)
        yield out
        if progress is not None:
            progress(n + 1, len(spans))


def _one_band(source: RowSource, kk: Kernel, options: Any, y0: int, y1: int, top: int,
              keep_alpha: bool) -> tuple[npt.NDArray[np.floating], str]:
    """Output rows ``y0..y1`` of the kernel as applied (``kk``), with the file offset."""
    from imgconv.engine import filter_band
    from imgconv.pipeline import _identity_like

    boundary = canonical_boundary(options.boundary)
    kh = kk.shape[0]
    h = source.shape[0]
    c = source.shape[2] if len(source.shape) == 3 else 1
    idx = np.arange(y0 - top, y1 - top + kh - 1, dtype=np.int64)
    rows = gather(source, source_rows(idx, h, boundary), options.cval, _float(source, options))
    kw_args: dict[str, Any] = dict(mode="correlate", boundary=boundary, cval=options.cval,
                                   method=options.method, size=options.size,
                                   precision=options.precision)
    if keep_alpha:
        colour = rows[..., :-1] if c > 2 else rows[..., 0]
        out, used = filter_band(colour, kk, **kw_args)
        alpha, _ = filter_band(rows[..., -1], _identity_like(kk), **kw_args)
        if kk.offset:
            out = out + out.dtype.type(kk.offset)
        out = np.concatenate([out if out.ndim == 3 else out[..., None], alpha[..., None]],
                             axis=2)
    else:
        out, used = filter_band(rows, kk, **kw_args)
        if kk.offset:
            out = out + out.dtype.type(kk.offset)
    return out, used


def _band_task(path: str, page: int | None, kk: Kernel, options: Any, y0: int, y1: int,
               top: int, keep_alpha: bool) -> tuple[npt.NDArray[np.floating], str]:
    """One band, on a Dask worker: reopen the file by its path, compute, close."""
    source = open_source(Path(path), page)
    try:
        return _one_band(source, kk, options, y0, y1, top, keep_alpha)
    finally:
        source.close()


IN_FLIGHT = 4  # bands submitted ahead to the cluster (bounds this process's memory)


def _on_cluster(client: Any, source: RowSource, kk: Kernel, options: Any,
                spans: list[tuple[int, int]], top: int,
                keep_alpha: bool) -> Iterator[tuple[npt.NDArray[np.floating], str]]:
    path, page = source.location()
    pending: list[Any] = []
    queue = list(spans)
    while queue or pending:
        while queue and len(pending) < IN_FLIGHT:
            y0, y1 = queue.pop(0)
            pending.append(client.submit(_band_task, str(path), page, kk, options, y0, y1,
                                         top, keep_alpha, pure=False))
        fut = pending.pop(0)
        yield fut.result()


def _rebanded(pieces: Iterator[npt.NDArray[np.floating]],
              done: Callable[[npt.NDArray[np.floating]], npt.NDArray[Any]],
              ) -> Iterator[npt.NDArray[Any]]:
    """Finished bands of exactly TILE rows (the last may be shorter), for the TIFF tiles."""
    pending: npt.NDArray[Any] | None = None
    for piece in pieces:
        fin = done(piece)
        buf = fin if pending is None else np.concatenate([pending, fin])
        while buf.shape[0] >= TILE:
            yield buf[:TILE]
            buf = buf[TILE:]
        pending = buf if buf.shape[0] else None
    if pending is not None:
        yield pending


def _min_max(source: RowSource, limit: int, keep_alpha: bool,
             absolute: bool = False) -> tuple[float, float]:
    lo, hi = math.inf, -math.inf
    row = max(1, int(np.prod(source.shape[1:])) * source.dtype.itemsize)
    step = max(1, limit // (row * 4))
    for y0 in range(0, source.shape[0], step):
        rows = source.read(y0, min(source.shape[0], y0 + step))
        if keep_alpha:
            rows = rows[..., :-1]
        if absolute:
            rows = np.abs(rows)
        lo, hi = min(lo, float(rows.min())), max(hi, float(rows.max()))
    return lo, hi


def _write_stream(tmp: str, ext: str, shape: tuple[int, ...], dtype: np.dtype[Any],
                  bands: Iterator[npt.NDArray[Any]], alpha: bool = False) -> None:
    if ext == ".npy":
        sink = NpySink(tmp, shape, dtype)
        try:
            y = 0
            for b in bands:
                sink.write(y, b)
                y += b.shape[0]
        finally:
            sink.close()
        return
    import tifffile

    rgb = len(shape) == 3 and shape[2] in (3, 4)
    with tifffile.TiffWriter(tmp, bigtiff=int(np.prod(shape)) * dtype.itemsize > 2**31) as tw:
        tw.write(_tiff_tiles(bands, shape, dtype), shape=shape, dtype=dtype,
                 tile=(TILE, TILE), photometric="rgb" if rgb else "minisblack",
                 extrasamples=("unassalpha",) if (rgb and shape[2] == 4) or alpha and
                 len(shape) == 3 and shape[2] == 2 else None)
