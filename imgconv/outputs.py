"""Output names and the checks on outputs, before any work.

- :func:`safe_name`, :func:`chain_name`, :func:`default_name`: an output is named
  ``STEM.FILTER.MODE.EXT`` beside its input unless told otherwise;
- :func:`plan_targets`: where each input of one run is written (one file, a folder,
  or beside each input), refusing up front an input that would be overwritten (under
  any spelling), an existing output without ``overwrite``, two inputs written to one
  output, several pages into a format that holds one, an unwritable folder and a
  dtype the format cannot hold;
- :func:`check_target`: the checks on one output, for callers with their own names.

Messages name the parameters they are about (``output=...``, ``overwrite=True``,
``page=N``) and set :attr:`~imgconv.errors.ImgconvError.param`; the command line
spells them as its flags.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imgconv.errors import ImageError, ImgconvError, OutputError, WorkError
from imgconv.formats import (
    FORMATS,
    check_output_channels,
    check_output_dtype,
    output_format,
    page_count,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from imgconv.kernels import Kernel

__all__ = [
    "atomic_write",
    "chain_name",
    "check_target",
    "check_writable",
    "default_name",
    "plan_targets",
    "safe_name",
    "same_file",
    "write_image",
    "write_text",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def _holds_pages(path: Path) -> bool:
    fmt = FORMATS.get(path.suffix.lower())
    return fmt is not None and fmt.frames


def safe_name(text: str) -> str:
    """``text`` with any character outside ``[A-Za-z0-9._+-]`` replaced by ``_``."""
    return _UNSAFE.sub("_", text)


def chain_name(kernels: Sequence[Kernel]) -> str:
    """The name of a filter chain in file names: ``gaussian3+sharpen``."""
    return safe_name("+".join(k.name for k in kernels))


def default_name(src: Path, chain: str, mode: str) -> str:
    """The default output name of ``src``: ``STEM.CHAIN.MODE.EXT`` (extension lower-cased)."""
    return f"{src.stem}.{chain}.{mode}{src.suffix.lower()}"


def plan_targets(
    inputs: Sequence[Path],
    *,
    chain: str,
    mode: str,
    output: Path | None = None,
    overwrite: bool = False,
    page: int | None = None,
    dtype: str | None = None,
    in_cwd: Collection[Path] = (),
) -> list[Path]:
    """The output of each input, every output checked (:func:`check_target`) before any work.

    Parameters
    ----------
    inputs : sequence of Path
        Existing image files.
    chain, mode : str
        The filter chain's name (:func:`chain_name`) and the mode, for default names.
    output : Path, optional
        One input: the output file, or an existing folder for its default name.
        Several inputs: an existing folder.  None: default names beside each input.
    overwrite : bool
        Replace existing outputs (never an input).
    page : int, optional
        The one page read of each input; None: every page (a multi-page input then
        needs a multi-page output format).
    dtype : str, optional
        The output dtype, checked against each output's format.
    in_cwd : collection of Path
        Inputs whose default output goes to the current folder, not beside them.
    """
    pages = {p: page_count(p) if page is None else 1 for p in inputs}
    folder = _output_folder(output, len(inputs))
    targets: list[Path] = []
    for p in inputs:
        default = default_name(p, chain, mode)
        if folder is not None:
            t = folder / default
        elif output is not None:
            if not output.suffix:
                raise OutputError(f"{output}: has no extension and is not an existing folder: "
                                  "give a file name like out.png, or create the folder first")
            t = output
        else:
            t = (Path.cwd() if p in in_cwd else p.parent) / default
        targets.append(t)
    for i, (p, t) in enumerate(zip(inputs, targets, strict=True)):
        check_target(t, inputs, overwrite=overwrite, dtype=dtype, pages=(p, pages[p]),
                     earlier=targets[:i])
    return targets


def _output_folder(output: Path | None, n_inputs: int) -> Path | None:
    """``output`` when it names the folder for the outputs; None when it names a file."""
    if output is None or (n_inputs <= 1 and not output.is_dir()):
        return None
    if not output.is_dir():
        raise OutputError(f"{output}: with several images, output=... must be an existing "
                          f"folder: create it first (mkdir {output})", param="output")
    return output


def check_target(
    target: Path,
    inputs: Sequence[Path],
    *,
    overwrite: bool = False,
    dtype: str | None = None,
    pages: tuple[Path, int] | None = None,
    earlier: Sequence[Path] = (),
) -> None:
    """Refuse, before any work, an output that cannot or must not be written.

    ``pages`` is the input written there and its page count; ``earlier`` the outputs
    of the same run before this one (two inputs must not share an output).
    """
    if pages is not None and pages[1] > 1 and not _holds_pages(target):
        src, n = pages
        tif = _holds_pages(src)
        raise ImageError(f"{src}: has {n} {'pages' if tif else 'frames'}: "
                         + ("write them to a .tif (every page is filtered), or pick one "
                            "with page=N" if tif else "pick one with page=N"), param="page")
    if any(same_file(q, target) for q in inputs):
        raise OutputError(f"{target}: is an input; refusing to overwrite it (choose another "
                          "output with output=...)", param="output")
    if target.exists() and not overwrite:
        raise OutputError(f"{target}: already exists (use overwrite=True to replace it)",
                          param="overwrite")
    if any(same_file(target, s) for s in earlier):
        raise OutputError(f"{target}: two inputs would be written to the same output (they "
                          "have the same name): run them separately, or use 'imgconv batch', "
                          "which mirrors their folders")
    check_writable(target)
    if dtype is not None:
        check_output_dtype(target, dtype)


# -- writing: atomic, never over an input ---------------------------------------------------
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
    fmt = output_format(target)
    check_output_dtype(target, str(array.dtype))
    core = array.shape[1:] if pages > 1 else array.shape
    check_output_channels(target, core[2] if len(core) == 3 else 1)
    for inp in protect:
        if same_file(inp, target):
            raise OutputError(f"{target}: is an input; refusing to overwrite it (choose another "
                              "output)")
    if pages > 1 and not fmt.frames:
        raise OutputError(f"{target}: {pages} pages need a .tif output (or pick one with "
                          "page=N)", param="page")

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
        raise OutputError(f"{target}: already exists (use overwrite=True to replace it)",
                          param="overwrite")
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
                    f"{target}: already exists (use overwrite=True to replace it)",
                    param="overwrite") from None
            except OSError:  # file systems without hard links
                if target.exists():
                    raise OutputError(
                        f"{target}: already exists (use overwrite=True to replace it)",
                        param="overwrite") from None
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
