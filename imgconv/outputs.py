"""Output names and the checks on outputs, before any work; atomic writes and their
temporary files.

- :func:`safe_name`, :func:`chain_name`, :func:`default_name`: an output is named
  ``STEM.FILTER.MODE.EXT`` beside its input unless told otherwise;
- :func:`plan_targets`: where each input of one run is written (one file, a folder,
  or beside each input), refusing up front an input that would be overwritten (under
  any spelling), an existing output without ``overwrite``, two inputs written to one
  output, several pages into a format that holds one, an unwritable folder, a name over
  the file system's limit and a dtype the format cannot hold;
- :func:`check_target`: the checks on one output, for callers with their own names;
  :class:`FileSet`: files under any spelling or link, asked in one ``stat`` whatever
  their number (the inputs of a run, its outputs so far); :class:`InputTree`: the files
  a batch must never replace (docs/semantics.md §5);
- :func:`atomic_write` through a :class:`~imgconv.temporaries.Temporary` (named and
  locked by :mod:`imgconv.temporaries`, which also removes what a killed run left);
  :func:`write_error`, the one message of a write that failed (disk full, a read-only
  folder).

Messages name the parameters they are about (``output=...``, ``overwrite=True``,
``page=N``) as fields of a :class:`~imgconv.errors.Message`; the command line spells
them as its flags.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imgconv.errors import ImgconvError, Message, OutputError, WorkError, verbatim
from imgconv.formats import (
    FORMATS,
    check_output_channels,
    check_output_dtype,
    frames_error,
    frames_of,
    output_format,
    page_count,
    written_as,
)
from imgconv.options import FileOptions, FilterOptions, format_extension
from imgconv.temporaries import Temporary, folder_of, name_max

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from imgconv.kernels import Kernel

__all__ = [
    "InputTree",
    "atomic_write",
    "chain_name",
    "check_folder",
    "check_name",
    "check_target",
    "check_writable",
    "default_name",
    "file_id",
    "FileSet",
    "format_extension",
    "page_counts",
    "plan_targets",
    "safe_name",
    "same_file",
    "write_error",
    "write_image",
    "write_text",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
NO_FILTER_OPTIONS = FilterOptions()
NO_FILE_OPTIONS = FileOptions()


def _holds_pages(path: Path) -> bool:
    fmt = FORMATS.get(path.suffix.lower())
    return fmt is not None and fmt.frames


def safe_name(text: str) -> str:
    """``text`` with any character outside ``[A-Za-z0-9._+-]`` replaced by ``_``."""
    return _UNSAFE.sub("_", text)


#: a kernel's part of a default name over this many bytes is cut, with a hash of the whole
PART_MAX = 100


def _shorten(text: str, size: int) -> str:
    """``text`` (ASCII) cut to ``size`` bytes, its end ``-`` and 6 hex of its SHA-256: two
    texts that differ still differ after the cut."""
    if len(text) <= size:
        return text
    import hashlib  # lazily: ~3 ms of OpenSSL at start-up, for long names only

    return f"{text[:size - 7]}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def chain_name(kernels: Sequence[Kernel]) -> str:
    """The name of a filter chain in file names (docs/semantics.md §4): each kernel's
    :attr:`~imgconv.kernels.Kernel.file_name` made safe (:func:`safe_name`), cut to
    :data:`PART_MAX` bytes with a hash when longer, joined by ``+``
    (``gaussian3+gaussian-sigma2+k3x3-1a2b3c``)."""
    return "+".join(_shorten(safe_name(k.file_name), PART_MAX) for k in kernels)


def default_name(src: Path, chain: str, mode: str, limit: int = 255) -> str:
    """The default output name of ``src``: ``STEM.CHAIN.MODE.EXT`` (extension lower-cased;
    ``.tif`` for an input of a format imgconv reads but does not write).

    When that is over ``limit`` bytes (NAME_MAX) the chain is cut, with a hash of it
    (:func:`_shorten`), to fit; a stem too long for any chain is left for
    :func:`check_name` to refuse.
    """
    ext = written_as(src.suffix.lower())
    name = f"{src.stem}.{chain}.{mode}{ext}"
    over = len(os.fsencode(name)) - limit
    if over > 0 and len(chain) - over >= 8:
        name = f"{src.stem}.{_shorten(chain, len(chain) - over)}.{mode}{ext}"
    return name


def plan_targets(
    inputs: Sequence[Path],
    chain: str,
    options: FilterOptions = NO_FILTER_OPTIONS,
    files: FileOptions = NO_FILE_OPTIONS,
    *,
    output: Path | None = None,
    in_cwd: Collection[Path] = (),
    pages: Mapping[Path, int] | None = None,
) -> list[Path]:
    """The output of each input, every output checked (:func:`check_target`) before any work.

    Parameters
    ----------
    inputs : sequence of Path
        Existing image files.
    chain : str
        The filter chain's name (:func:`chain_name`), for default names.
    options : FilterOptions
        Its ``mode`` goes into default names; its ``dtype`` is checked against each
        output's format.
    files : FileOptions
        ``overwrite``: replace existing outputs (never an input); ``page``: the one page
        read of each input (None: every page, so a multi-page input needs a multi-page
        output format); ``fmt``: the extension of default names (``jpg``; None: each
        input's).
    output : Path, optional
        One input: the output file, or an existing folder for its default name.
        Several inputs: an existing folder.  None: default names beside each input.
    in_cwd : collection of Path
        Inputs whose default output goes to the current folder, not beside them.
    pages : mapping of Path to int, optional
        The page count of each input (:func:`page_counts`), when the caller has it.
    """
    mode, dtype, page, fmt = options.mode, options.dtype, files.page, files.fmt
    if output is not None:
        check_name(output)
    if pages is None:
        pages = page_counts(inputs, page)
    folder = _output_folder(output, len(inputs))
    targets: list[Path] = []
    for p in inputs:
        default = default_name(p if fmt is None else p.with_name(f"{p.stem}.{fmt}"), chain,
                               mode)
        if folder is not None:
            t = folder / default
        elif output is not None:
            if not output.suffix:
                raise OutputError("{file}: has no extension and is not an existing folder: "
                                  "give a file name like out.png, or create the folder first",
                                  file=output)
            t = output
        else:
            t = (Path.cwd() if p in in_cwd else p.parent) / default
        targets.append(t)
    protected, earlier = FileSet(inputs), FileSet()
    for p, t in zip(inputs, targets, strict=True):
        check_target(t, protected, overwrite=files.overwrite, dtype=dtype, pages=(p, pages[p]),
                     earlier=earlier)
        earlier.add(t)
    return targets


def page_counts(inputs: Iterable[Path], page: int | None) -> dict[Path, int]:
    """The pages of each input as a run reads them: its page count (:func:`page_count`,
    from the header) when ``page`` is None, else 1."""
    return {p: page_count(p) if page is None else 1 for p in inputs}


def _output_folder(output: Path | None, n_inputs: int) -> Path | None:
    """``output`` when it names the folder for the outputs; None when it names a file."""
    if output is None or (n_inputs <= 1 and not output.is_dir()):
        return None
    if not output.is_dir():
        raise OutputError(f"{{file}}: with several images, {{output!s}} must be an existing "
                          f"folder: create it first (mkdir {verbatim(output)})",
                          values={"output": ...}, file=output)
    return output


def check_target(
    target: Path,
    inputs: Sequence[Path] | FileSet,
    *,
    overwrite: bool = False,
    dtype: str | None = None,
    pages: tuple[Path, int] | None = None,
    earlier: Sequence[Path] | FileSet = (),
) -> None:
    """Refuse, before any work, an output that cannot or must not be written.

    ``pages`` is the input written there and its page count; ``earlier`` the outputs
    of the same run before this one (two inputs must not share an output).  A run of
    many files passes ``inputs`` and ``earlier`` as :class:`FileSet` s, built once.
    """
    check_name(target)
    if pages is not None and pages[1] > 1 and not _holds_pages(target):
        raise frames_error(*pages)
    if _as_set(inputs).holds(target):
        raise OutputError("{file}: is an input; refusing to overwrite it (choose another "
                          "output with {output!s})", values={"output": ...}, file=target)
    if target.exists() and not overwrite:
        raise OutputError("{file}: already exists (use {overwrite} to replace it)",
                          values={"overwrite": True}, file=target)
    if _as_set(earlier).holds(target):
        raise OutputError("{file}: two inputs would be written to the same output (they "
                          "have the same name): run them separately, or use 'imgconv batch', "
                          "which mirrors their folders", file=target)
    check_writable(target)
    if dtype is not None:
        check_output_dtype(target, dtype)


def check_name(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work, a path with a name over its file system's limit (NAME_MAX,
    255 bytes on most), naming it: the system would fail later with "File name too long"."""
    p = Path(path)
    whole = len(os.fsencode(str(p.absolute())))
    if whole > 4095:  # PATH_MAX (4096 with its NUL) on Linux
        raise ImgconvError(f"{str(path)[:60]}…: the path is {whole} bytes long, over the "
                           "system's limit of 4095: use a shorter path")
    for part in p.parts:
        size = len(os.fsencode(part))
        if size <= 143:  # within every common limit: no need to ask
            continue
        limit = name_max(p)
        if size > limit:
            which = "the name" if len(p.parts) == 1 else f"the name {part!r} in it"
            raise ImgconvError(f"{{file}}: {which} is {size} bytes long, over the file "
                               f"system's limit of {limit}: use a shorter name", file=path)


class InputTree:
    """What a batch must never write over, whatever ``overwrite`` says: a file inside its
    input folder ``root`` (also one its output folder holds, when that lies inside), or
    one of its ``inputs`` under any spelling or link."""

    params = ("overwrite", "output")  # what :meth:`refusal` names

    def __init__(self, root: Path, inputs: Iterable[Path]) -> None:
        self.root = root
        self.real = Path(os.path.realpath(root))
        self.ids = {i for i in map(file_id, inputs) if i is not None}

    def holds(self, target: Path) -> bool:
        """Would writing ``target`` replace a file of the input tree?"""
        if not os.path.lexists(target):
            return False
        if file_id(target) in self.ids:
            return True
        real = Path(os.path.realpath(target))
        return real == self.real or self.real in real.parents

    def refusal(self, target: Path) -> Message:
        """Why ``target`` is not written."""
        return Message(f"{verbatim(target)}: is a file of the input folder {verbatim(self.root)} "
                       "(or an input): "
                       "refusing to replace it, even with {overwrite}; write into an {output!s} "
                       "folder outside the input folder", {"overwrite": True, "output": ...})


# -- writing: atomic, never over an input ---------------------------------------------------
def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work, an output with an unknown extension or in a folder that
    does not exist or cannot be written."""
    target = Path(path)
    output_format(target)
    folder = folder_of(target)
    if not folder.is_dir():
        raise OutputError(f"{{file}}: the folder {folder} does not exist (create it first)",
                          file=target)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{{file}}: the folder {folder} is not writable: choose another "
                          "output folder", file=target)


def check_folder(folder: Path) -> None:
    """Refuse, before any work, an output folder that cannot be created or written (a
    read-only file system, no permission): the nearest existing folder is asked."""
    near = Path(os.path.abspath(folder))
    while not near.is_dir() and near.parent != near:
        near = near.parent
    if not os.access(near, os.W_OK | os.X_OK):
        raise OutputError(f"{{file}}: cannot write in the folder {verbatim(near)} (read-only or "
                          "not permitted): choose another output folder with {output!s}",
                          values={"output": ...}, file=folder)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two spellings name the same file (through links, ``..``, case)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return os.path.realpath(pa) == os.path.realpath(pb)


def file_id(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The identity of the file ``path`` names, through links: ``(st_dev, st_ino)``;
    None when there is none (or it cannot be asked)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


class FileSet:
    """Files under any spelling or link, as :func:`same_file` tells them apart, asked in
    one ``stat`` and one ``realpath`` whatever their number: a member's identity
    (:func:`file_id`) is taken when it is added; a path is held when it names the same
    file (its identity, also through a link made since) or resolves to the same place
    (a member that does not exist, or exists only since)."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.ids: set[tuple[int, int]] = set()
        self.reals: set[str] = set()
        for p in paths:
            self.add(p)

    def add(self, path: str | os.PathLike[str]) -> None:
        """``path`` joins the set."""
        ident = file_id(path)
        if ident is not None:
            self.ids.add(ident)
        self.reals.add(os.path.realpath(path))

    def holds(self, path: str | os.PathLike[str]) -> bool:
        """Does ``path`` name a file of the set?"""
        ident = file_id(path)
        return (ident is not None and ident in self.ids) or os.path.realpath(path) in self.reals


def _as_set(paths: Sequence[str | os.PathLike[str]] | FileSet) -> FileSet:
    return paths if isinstance(paths, FileSet) else FileSet(paths)


def write_image(
    path: str | os.PathLike[str],
    array: npt.NDArray[np.generic],
    *,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike[str], ...] | FileSet = (),
    meta: dict[str, object] | None = None,
    pages: int = 1,
    options: Mapping[str, object] | None = None,
) -> None:
    """Write ``array`` atomically: a temporary file in the target folder, then a rename.

    ``meta`` carries what the input had that the format can keep (``icc_profile``,
    ``dpi`` for Pillow formats); ``pages > 1`` marks a stack to write as a multi-page TIFF;
    ``options`` go to the format's writer (``quality`` for JPEG and WebP).
    ``protect`` lists inputs that must never be replaced (also through another
    spelling or a link), or holds them as a :class:`FileSet` built once for a run.
    Without ``overwrite`` an existing file is never replaced, even by a file that appears
    while this one is being written.
    """
    target = Path(path)
    fmt = output_format(target)
    every = frames_of(array, pages)  # a ragged stack: pages of several sizes or types
    for dt in dict.fromkeys(str(a.dtype) for a in every):
        check_output_dtype(target, dt)
    core = every[0].shape
    check_output_channels(target, core[2] if len(core) == 3 else 1)
    if _as_set(protect).holds(target):
        raise OutputError("{file}: is an input; refusing to overwrite it (choose another "
                          "output)", file=target)
    if pages > 1 and not fmt.frames:
        raise frames_error(target, pages, error=OutputError)

    def write(tmp: str) -> None:
        fmt.write(tmp, array, meta or {}, pages, options or {})

    atomic_write(target, write, overwrite=overwrite)


def atomic_write(target: Path, writer: Callable[[str], None], *, overwrite: bool = False) -> None:
    """Run ``writer(temporary path)`` in the target's folder, then move it into place.

    Without ``overwrite`` an existing file is never replaced, even one that appears
    while this one is being written (the temporary file is hard-linked into place).
    An interruption or failure leaves neither the temporary file nor a partial target;
    a failure is :func:`write_error`'s message (disk full, a read-only folder).
    """
    folder = folder_of(target)
    if target.exists() and not overwrite:
        raise OutputError("{file}: already exists (use {overwrite} to replace it)",
                          values={"overwrite": True}, file=target)
    if not folder.is_dir():
        raise OutputError(f"{{file}}: the folder {folder} does not exist", file=target)
    try:
        tmp = Temporary(target)
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        writer(tmp.path)
        _set_mode(tmp.path, target)
        os.fsync(tmp.fd)  # on disk before it takes the final name
        _into_place(tmp.path, target, overwrite)
    except ImgconvError:
        raise  # already says what went wrong, and where (an input that failed mid-stream)
    except Exception as exc:
        raise write_error(target, exc) from exc
    finally:
        tmp.close()


def _into_place(tmp: str, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    exists = OutputError("{file}: already exists (use {overwrite} to replace it)",
                         values={"overwrite": True}, file=target)
    try:
        os.link(tmp, target)  # fails if the target appeared meanwhile
    except FileExistsError:
        raise exists from None
    except OSError as exc:
        if exc.errno in _FULL + _READ_ONLY:
            raise
        if target.exists():  # file systems without hard links
            raise exists from None
        os.replace(tmp, target)


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


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def write_error(target: Path, exc: BaseException) -> WorkError:
    """The one message of a write of ``target`` that failed with ``exc`` (exit code 1):
    a full disk (``ENOSPC``, a short write such as tifffile's "N requested and M
    written"), a folder that cannot be written (read-only, permissions), else ``exc``."""
    folder = folder_of(target)
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 8:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    codes = {c.errno for c in causes if isinstance(c, OSError)}
    short = any("requested and" in str(c) and "written" in str(c) for c in causes)
    if codes & set(_FULL) or short or _no_space(folder):
        return WorkError(f"disk full while writing {target}: free some space or choose "
                         "another output folder (nothing was left behind)", file=target)
    if codes & set(_READ_ONLY):
        why = next(c.strerror for c in causes if isinstance(c, OSError)
                   and c.errno in _READ_ONLY)
        return WorkError(f"{{file}}: cannot write in the folder {folder} ({why}): choose "
                         "another output folder", file=target)
    return WorkError(f"{{file}}: could not write the file ({exc})", file=target)


def _no_space(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return st.f_bavail == 0 and st.f_blocks > 0


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
