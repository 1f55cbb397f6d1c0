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

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imgconv.errors import ImageError, OutputError
from imgconv.formats import check_output_dtype, page_count

# the writing side lives in imgconv.pixels until it moves here; importable from here already
from imgconv.pixels import atomic_write, check_writable, same_file, write_image, write_text

if TYPE_CHECKING:
    from imgconv.kernels import Kernel

__all__ = [
    "MULTI_PAGE",
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
#: the extensions that hold several pages
MULTI_PAGE = (".tif", ".tiff")


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
    if pages is not None and pages[1] > 1 and target.suffix.lower() not in MULTI_PAGE:
        src, n = pages
        tif = src.suffix.lower() in MULTI_PAGE
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
