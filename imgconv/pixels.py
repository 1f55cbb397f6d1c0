"""Writing outputs: atomic writes, inputs never overwritten (moving to imgconv.outputs)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from imgconv.errors import ImgconvError, OutputError, WorkError
from imgconv.formats import (  # noqa: F401 - re-exported while callers move to formats
    DTYPES,
    READ_EXTENSIONS,
    Image,
    _ext,
    _quiet_tifffile,
    check_output_channels,
    check_output_dtype,
    dtype_max,
    guard,
    max_pixels,
    output_format,
    page_count,
    probe,
    quantize,
    read_image,
)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work, an output with an unknown extension or in a folder that
    does not exist or cannot be written."""
    target = Path(path)
    output_format(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: the folder {folder} is not writable: choose another "
                          "output folder")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two spellings name the same file (through links, ``..``, case)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return os.path.realpath(pa) == os.path.realpath(pb)


def write_image(
    path: str | os.PathLike[str],
    array: npt.NDArray[np.generic],
    *,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike[str], ...] = (),
    meta: dict[str, object] | None = None,
    pages: int = 1,
) -> None:
    """Write ``array`` atomically: a temporary file in the target folder, then a rename.

    ``meta`` carries what the input had that the format can keep (``icc_profile``,
    ``dpi`` for Pillow formats); ``pages > 1`` marks a stack to write as a multi-page TIFF.
    ``protect`` lists inputs that must never be replaced (also through another
    spelling or a link).  Without ``overwrite`` an existing file is never replaced,
    even by a file that appears while this one is being written.
    """
    target = Path(path)
    ext = _ext(target)
    check_output_dtype(target, str(array.dtype))
    core = array.shape[1:] if pages > 1 else array.shape
    check_output_channels(target, core[2] if len(core) == 3 else 1)
    for inp in protect:
        if same_file(inp, target):
            raise OutputError(f"{target}: is an input; refusing to overwrite it (choose another "
                              "output)")
    if pages > 1 and ext not in (".tif", ".tiff", ".npy"):
        raise OutputError(f"{target}: {pages} pages need a .tif output (or pick one with --page)")
    fmt = output_format(target)

    def write(tmp: str) -> None:
        fmt.write(tmp, array, meta or {}, pages)

    atomic_write(target, write, overwrite=overwrite)


def atomic_write(target: Path, writer: Callable[[str], None], *, overwrite: bool = False) -> None:
    """Run ``writer(temporary path)`` in the target's folder, then move it into place.

    Without ``overwrite`` an existing file is never replaced, even one that appears
    while this one is being written (the temporary file is hard-linked into place).
    An interruption or failure leaves neither the temporary file nor a partial target.
    """
    folder = target.parent if str(target.parent) else Path(".")
    if target.exists() and not overwrite:
        raise OutputError(f"{target}: already exists (use --overwrite to replace it)")
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {folder} does not exist")
    try:
        # the temporary name stays within NAME_MAX even for a long target name
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise WorkError(f"{target}: cannot write in {folder} ({exc.strerror})") from exc
    os.close(fd)
    try:
        writer(tmp)
        _set_mode(tmp, target)
        with open(tmp, "rb+") as fh:  # on disk before it takes the final name
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the target appeared meanwhile
            except FileExistsError:
                raise OutputError(
                    f"{target}: already exists (use --overwrite to replace it)"
                ) from None
            except OSError:  # file systems without hard links
                if target.exists():
                    raise OutputError(
                        f"{target}: already exists (use --overwrite to replace it)"
                    ) from None
                os.replace(tmp, target)
    except ImgconvError:
        raise  # already says what went wrong, and where (an input that failed mid-stream)
    except Exception as exc:
        raise WorkError(f"{target}: could not write the file ({exc})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _set_mode(tmp: str, target: Path) -> None:
    """Give the new file the permissions a plain ``open()`` would (mkstemp makes it 0600),
    or those of the file it replaces."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> None:
    """Write a text file (YAML, JSON, HTML) atomically, like :func:`write_image`."""

    def writer(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(Path(path), writer, overwrite=overwrite)
