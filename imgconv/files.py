"""One file of ``apply`` or ``batch``: read, filter, write — whole, or in bands.

:func:`process_file` reads the image (:mod:`imgconv.formats`), runs the chain of
docs/semantics.md §3 (:mod:`imgconv.chain`) and writes the result atomically
(:mod:`imgconv.outputs`); an image over the memory limit goes through
:mod:`imgconv.bands` instead, which runs the same chain band by band.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from imgconv.chain import finish, fused, run_filters, to_gray
from imgconv.dtypes import dtype_max
from imgconv.errors import ImageError, ImgconvError, Message, OutputError
from imgconv.formats import (
    FORMATS,
    Format,
    Image,
    Meta,
    carried,
    check_output_channels,
    check_output_dtype,
    file_meta,
    frames_error,
    frames_of,
    orientation,
    output_format,
    palette_note,
    ragged,
    read_image,
    stack_pages,
)
from imgconv.kernels import Kernel
from imgconv.options import FileOptions, FilterOptions
from imgconv.outputs import FileRecord, FileSet, same_file, write_image


@dataclass(frozen=True)
class RunHooks:
    """How a run is followed and where it runs, apart from what it computes
    (:class:`~imgconv.options.FilterOptions`) and how files are read and written
    (:class:`~imgconv.options.FileOptions`).

    ``progress(done, total)`` follows the bands of an image filtered in bands;
    ``stage(name)`` the stages of a whole image (``read``, ``filter``, ``write``);
    ``scheduler`` is the address of a Dask cluster that computes the bands.  A run of
    several files (:func:`imgconv.applying.run_many`) also enters ``each(path)`` around
    each file, and calls ``written(record)`` once its output is written and
    ``reported(record)`` once its report is.
    """

    progress: Callable[[int, int], None] | None = None
    stage: Callable[[str], None] | None = None
    scheduler: str | None = None
    each: Callable[[Path], AbstractContextManager[object]] | None = None
    written: Callable[[FileRecord], None] | None = None
    reported: Callable[[FileRecord], None] | None = None


NO_FILE_OPTIONS = FileOptions()  # a file read whole, written only where nothing is
NO_HOOKS = RunHooks()  # no one follows the run


def process_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    kernels: Sequence[Kernel],
    options: FilterOptions,
    files: FileOptions = NO_FILE_OPTIONS,
    hooks: RunHooks = NO_HOOKS,
    *,
    inputs: FileSet | None = None,
) -> FileRecord:
    """Read ``src``, filter it, write ``dst`` atomically: one file of ``apply`` or ``batch``.

    ``dst`` is never ``src`` nor a file of ``files.protect`` (under any spelling or link),
    checked first and again as it is written; a run of many files passes them all, with
    its other inputs, as ``inputs``, built once (then ``files.protect`` is not asked).

    With ``files.memory_limit`` (bytes), an image whose working set would exceed it is
    filtered in bands with its output streamed (:mod:`imgconv.bands`), when its
    format allows; ``hooks.progress(done, total)`` then follows the bands; for a whole
    image ``hooks.stage(name)`` is called as it reads, filters and writes.
    ``files.strict_limit`` False (the default limit, not one the user set) reads what
    cannot be banded (a multi-page TIFF) whole rather than refusing it.  With
    ``hooks.scheduler`` (a Dask address) the bands are computed on that cluster.

    Every page of a multi-page TIFF and every frame of an animated GIF or WebP is
    filtered, into a format that holds them all (the table's ``frames``; an animation's
    durations and loop kept), unless ``files.page`` picks one.  ``files.quality``
    (1..100) goes to a JPEG or WebP writer; any other output format notes that it does
    not take one.  An EXIF orientation turns the pixels upright first unless
    ``files.auto_orient`` is False; the ICC profile, dpi and EXIF go to the output as far
    as its format carries them (a note names what it cannot), none with ``files.strip``
    (docs/semantics.md §7).  Returns its :class:`FileRecord`.  Every error names the file.
    """
    try:
        guard = FileSet((src, *files.protect)) if inputs is None else inputs
        rec = _process(src, dst, kernels, options, files, hooks, guard)
    except ImgconvError as exc:
        raise _naming(exc, src, dst) from exc.__cause__
    if files.quality is not None and not output_format(dst).quality:
        rec.notes.append(Message(f"{{quality}} applies to JPEG and WebP outputs only: "
                                 f"{Path(dst).suffix} written as always",
                                 {"quality": files.quality}))
    return rec


def _naming(exc: ImgconvError, src: str | os.PathLike[str],
            dst: str | os.PathLike[str]) -> ImgconvError:
    """``exc`` naming its file: as it is if it names one (the input or the output: its
    ``file`` is set), else prefixed with the input's name (a chain's error knows no
    file)."""
    return exc.about(src)


def _process(src: str | os.PathLike[str], dst: str | os.PathLike[str],
             kernels: Sequence[Kernel], options: FilterOptions, files: FileOptions,
             hooks: RunHooks, guard: FileSet) -> FileRecord:
    if guard.holds(dst) or same_file(src, dst):
        raise OutputError("{file}: is an input; refusing to overwrite it (choose another "
                          "output)", file=dst)
    scheduler, memory_limit = hooks.scheduler, files.memory_limit
    if scheduler is not None or memory_limit is not None:
        limit = memory_limit if memory_limit is not None else 2**62
        if _banded(Path(src), Path(dst), options, files, limit=limit,
                   force=scheduler is not None):
            from imgconv.bands import process_file_tiled
            from imgconv.bands.cluster import connect

            meta, notes = _carried(file_meta(src, files.page), dst, files.strip)
            args = (Path(src), Path(dst), kernels, options,
                    files.replace(memory_limit=limit))
            if scheduler is None:
                rec = process_file_tiled(*args, progress=hooks.progress, meta=meta)
            else:
                with connect(scheduler) as client:
                    rec = process_file_tiled(*args, progress=hooks.progress, meta=meta,
                                             client=client)
            rec.notes += notes
            if scheduler is None and memory_limit is not None:
                rec.notes.append(Message("filtered in bands to keep the working set under "
                                         "{memory_limit[0]!s} ({memory_limit[1]!s} reads it "
                                         "whole)",
                                         {"memory_limit": (f"{limit / 1e6:.0f}MB", "none")}))
            return rec
    return _whole(src, dst, kernels, options, files, hooks.stage or _quiet, guard)


def _quiet(name: str) -> None:
    """No one follows the stages."""


@dataclass
class Frame:
    """One page of an image as it is filtered: ``pixels`` (a float luma copy under
    ``gray``), whether its last channel is alpha, and the file's own pixel type."""

    pixels: npt.NDArray[np.generic]
    has_alpha: bool
    dtype: np.dtype[np.generic]


@dataclass
class Read:
    """An image read for filtering (:func:`read_step`): the :class:`Image` as the file
    holds it (pages, metadata, notes) and its pages as they are filtered."""

    image: Image
    gray: bool

    def frames(self) -> Iterator[Frame]:
        """Each page in turn, converted to luma under ``gray`` one at a time."""
        for arr in frames_of(self.image.array, self.image.pages):
            dtype, has_alpha = arr.dtype, self.image.has_alpha
            if self.gray:
                arr, has_alpha = to_gray(arr, has_alpha)
            yield Frame(arr, has_alpha, dtype)


def read_step(src: str | os.PathLike[str], files: FileOptions,
              keep: tuple[str, ...] = ()) -> Read:
    """The read step of every whole-image run (``apply``, ``batch``, ``diff``): ``src``
    read by ``files.page`` and ``files.auto_orient``, colour spaces in ``keep`` kept (the
    output's), its pages luma under ``files.gray``."""
    img = read_image(src, page=files.page, auto_orient=files.auto_orient, keep=keep)
    return Read(img, files.gray)


def _whole(src: str | os.PathLike[str], dst: str | os.PathLike[str], kernels: Sequence[Kernel],
           options: FilterOptions, files: FileOptions, stage: Callable[[str], None],
           guard: FileSet) -> FileRecord:
    """The image read whole, every page through the chain, written at once."""
    t0 = time.perf_counter()
    stage("read")
    out_fmt = output_format(dst)
    read = read_step(src, files, keep=() if files.gray else out_fmt.spaces)
    img, gray = read.image, files.gray
    pages = img.pages
    frames = frames_of(img.array, pages)
    for dt in dict.fromkeys(options.dtype or str(a.dtype) for a in frames):
        check_output_dtype(dst, dt)  # each page keeps its own type unless dtype= says
    core = frames[0].shape
    channels = core[2] if len(core) == 3 else 1
    if gray and channels in (3, 4):
        channels -= 2
    check_output_channels(dst, channels, options.dtype or str(frames[0].dtype))
    if pages > 1 and not out_fmt.frames:
        raise frames_error(src, pages)
    if ragged(img.array) and out_fmt.name != "TIFF":
        raise ImageError(f"{{file}}: its {pages} {out_fmt.unit}s differ in size or pixel type: "
                         "write them to a .tif file (every page is kept), or pick one with "
                         "{page!s}", values={"page": "N"}, file=src)
    finals: list[npt.NDArray[np.generic]] = []
    methods: list[str] = []
    notes: list[str] = list(img.notes)
    stage("filter")
    for frame in read.frames():
        final, used = _filtered(frame, kernels, options, notes)
        finals.append(final)
        methods += used
    final = stack_pages(finals) if pages > 1 else finals[0]
    meta = dict(img.meta)
    if gray and len(core) == 3:
        meta.pop("icc_profile", None)  # a colour profile does not describe a gray image
    meta, lost = _carried(meta, dst, files.strip)
    notes += lost
    reduced = palette_note(dst, finals)
    if reduced is not None:
        notes.append(reduced)
    stage("write")
    write_image(dst, final, overwrite=files.overwrite, protect=guard,
                meta=meta, pages=pages,
                options=_writer_options(img.timing, files.quality, img.space))
    shape = list(final.shape) if not ragged(final) else [pages, *finals[0].shape]
    dtypes = "+".join(dict.fromkeys(str(a.dtype) for a in finals))
    return FileRecord(str(src), str(dst), [k.name for k in kernels], options.mode,
                      "+".join(dict.fromkeys(methods)), options.boundary, shape,
                      dtypes, round(time.perf_counter() - t0, 4),
                      list(dict.fromkeys(notes)))


def _filtered(frame: Frame, kernels: Sequence[Kernel], options: FilterOptions,
              notes: list[str]) -> tuple[npt.NDArray[np.generic], list[str]]:
    """One page through the chain and :func:`~imgconv.chain.finish`: ``(pixels, methods)``."""
    arr, has_alpha = frame.pixels, frame.has_alpha
    out_dtype = options.dtype or str(frame.dtype)
    quick = fused(arr, kernels, options, has_alpha=has_alpha, out_dtype=out_dtype)
    if quick is not None:  # filter, round and cast in one call, no float copy
        return quick[0], [quick[1]]
    res = run_filters(arr, kernels, options, has_alpha=has_alpha,
                      alpha_max=dtype_max(frame.dtype))
    notes += res.notes
    return finish(res.values, options, in_dtype=frame.dtype,
                  keep_last=has_alpha and arr.ndim == 3, notes=notes,
                  finite_source=res.finite_source, gain=res.gain), res.methods


def _writer_options(timing: Meta, quality: int | None, space: str = "") -> dict[str, object]:
    """What the writer is told besides the pixels: an animation's durations and loop (a
    format that holds no timing ignores them), the ``quality`` and the colour space kept."""
    return {**timing, **({} if quality is None else {"quality": quality}),
            **({"space": space} if space else {})}


def _carried(meta: Meta, dst: str | os.PathLike[str], strip: bool) -> tuple[Meta, list[str]]:
    """What of ``meta`` the output's format carries (the table's ``metadata`` field), and
    the note for what it cannot."""
    fmt = output_format(dst)
    return carried(meta, fmt.metadata, str(dst), fmt.name, strip=strip)


def _refuse_unbanded(src: Path, options: FilterOptions, limit: int) -> None:
    """Under a limit the user set, refuse an input that cannot be read in bands (a PNG, a
    JPEG, a compressed or multi-page TIFF) when its header says that even its decoded
    pixels and one working copy (the least a whole-image run holds) need more."""
    from imgconv.engine import working_dtype
    from imgconv.formats import probe

    try:
        header = probe(src)
    except ImgconvError:
        return  # let the ordinary reader report what is wrong
    h, w, c = max(header.sizes, key=lambda s: s[0] * s[1] * s[2])
    dt = np.dtype(header.dtype)
    need = h * w * c * (dt.itemsize + np.dtype(working_dtype(dt, options.precision)).itemsize)
    if need > limit:
        raise ImageError(f"{{file}}: its pixels and one working copy need {need / 1e6:.0f}MB, "
                         f"more than {{memory_limit[0]!s}}, and a {src.suffix} input cannot be "
                         "read in bands (a plain TIFF or .npy can): convert it to .tif first, "
                         "or raise {memory_limit[1]!s}",
                         values={"memory_limit": (f"{limit / 1e6:.0f}MB", "")}, file=src)


def _banded(src: Path, dst: Path, options: FilterOptions, files: FileOptions, *, limit: int,
            force: bool = False) -> bool:
    """Should this file be filtered in bands (its working set over ``limit``)?  Refuses
    what cannot be streamed under a strict limit (``files.strict_limit``: one the user
    set); under the default limit such a file is read whole.

    ``force`` (bands on a Dask cluster) bands any streamable image."""
    from imgconv.bands import header_shape, needs_tiling, streamable

    page, gray, strict = files.page, files.gray, files.strict_limit

    if not streamable(src, page):
        if force:
            raise ImageError("{file}: only TIFF and .npy images can be split across a "
                             "cluster ({scheduler!s}); convert it, or send whole files to the "
                             "cluster (batch with {scheduler!s})", values={"scheduler": ""},
                             file=src)
        if strict:
            _refuse_unbanded(src, options, limit)
        return False  # read whole (the format cannot be streamed)
    try:
        shape, dt, pages = header_shape(src, page)
    except ImgconvError:
        return False  # let the ordinary reader report what is wrong
    if pages > 1 and page is None:
        if strict and needs_tiling((pages, *shape), dt, options.precision, limit):
            raise ImageError("{file}: a multi-page TIFF over {memory_limit!s}: filter one page "
                             "at a time with {page!s}", values={"memory_limit": "", "page": "N"},
                             file=src)
        return False
    if not force and not needs_tiling(shape, dt, options.precision, limit):
        return False
    if not strict and (gray or not _format_of(dst).streams):
        return False  # the default limit: read whole what cannot be banded
    if not _format_of(dst).streams:
        raise ImageError(f"{{file}}: needs more than {{memory_limit!s}}, so it is filtered in "
                         f"bands; write the result as .tif or .npy (not {dst.suffix}), or raise "
                         "{memory_limit!s}", values={"memory_limit": ""}, file=src)
    if gray:
        raise ImageError("{file}: {gray[0]} is not available for images over "
                         "{memory_limit[0]!s}: raise {memory_limit[1]!s}, or drop {gray[1]}",
                         values={"gray": (True, True), "memory_limit": ("", "")}, file=src)
    turned = orientation(file_meta(src, page)) if files.auto_orient else 1
    if turned != 1:
        if not strict:
            return False  # the default limit: read whole, turned upright
        raise ImageError(f"{{file}}: its EXIF orientation ({turned}) cannot be applied to an "
                         "image filtered in bands: raise {memory_limit!s}, or keep the stored "
                         "order with {auto_orient}",
                         values={"memory_limit": "", "auto_orient": False},
                         file=src)
    return True


def _format_of(path: Path) -> Format:
    return FORMATS.get(path.suffix.lower()) or FORMATS[".png"]  # unknown: not streamed
