"""Array files: ``.npy`` (never pickles) and ``.csv``, whole or as a 2-D slice.

``w.npy[3,0]`` (PyTorch's out, in, h, w) or ``w.npy[:,:,0,3]`` (Keras's h, w, in,
out) pick a 2-D kernel with numpy basic indexing, parsed and never evaluated
(docs/semantics.md §2).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import EllipsisType

import numpy as np
import numpy.typing as npt

from imgconv.errors import FilterError
from imgconv.kernels.kernel import Kernel
from imgconv.kernels.txt import read_text, txt_matrix
from imgconv.kernels.words import stem

_Index = tuple[int | slice | EllipsisType, ...]
_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")
_SLICE_RE = re.compile(r"(?P<path>.+\.(?:npy|csv))\[(?P<index>[^\[\]]*)\]", re.IGNORECASE)
_INDEX_HELP = ("use integers, slices like 1:4 or ::2, and '...' separated by commas "
               "(numpy basic indexing), e.g. [3,0] or [:,:,0,3]")


def parse_index(text: str, source: str) -> _Index:
    """Parse numpy basic indexing (integers, ``start:stop:step`` slices, ``...``), no eval."""
    if not text.strip():
        return ()
    items = text.split(",")
    if len(items) > 1 and not items[-1].strip():
        items = items[:-1]
    out: list[int | slice | EllipsisType] = []
    for raw in items:
        item = raw.strip()
        if item == "...":
            if Ellipsis in out:
                raise FilterError(f"index [{text}] has more than one '...'", source)
            out.append(Ellipsis)
        elif ":" in item:
            out.append(_slice(item, text, source))
        elif _INT_RE.fullmatch(item):
            out.append(int(item))
        else:
            raise FilterError(f"bad index {item!r} in [{text}]: {_INDEX_HELP}", source)
    return tuple(out)


def _slice(item: str, text: str, source: str) -> slice:
    parts = [p.strip() for p in item.split(":")]
    if len(parts) > 3 or any(p and not _INT_RE.fullmatch(p) for p in parts):
        raise FilterError(f"bad slice {item!r} in [{text}]: {_INDEX_HELP}", source)
    bounds = [int(p) if p else None for p in parts]
    if len(bounds) == 3 and bounds[2] == 0:
        raise FilterError(f"slice {item!r} has step 0", source)
    return slice(*bounds)


def load_array(path: Path, source: str) -> npt.NDArray[np.float64]:
    """A .npy (no pickles) or .csv file as a float64 array (any number of dimensions)."""
    if not path.is_file():
        raise FilterError("no such file", source)
    if path.suffix.lower() == ".csv":
        return txt_matrix(read_text(path, source), source)[0]
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises many types for bad files
        if "allow_pickle" in str(exc):
            raise FilterError("holds Python objects (a pickle), which imgconv never loads: "
                              "save a numeric array with np.save", source) from None
        raise FilterError(f"cannot read as a .npy array: {exc}", source) from None
    if not isinstance(arr, np.ndarray):
        close = getattr(arr, "close", None)
        if callable(close):
            close()
        raise FilterError("not a .npy array (an .npz archive?): save one array with np.save",
                          source)
    if arr.dtype.kind not in "biuf":
        raise FilterError(f"the array has dtype {arr.dtype}: a kernel must be real numbers",
                          source)
    return np.asarray(arr, dtype=np.float64)


def _array_kernel(arr: npt.NDArray[np.float64], path: Path, source: str,
                  original: tuple[int, ...]) -> Kernel:
    """The kernel of a 2-D array (``original`` is the shape of the array it was cut from)."""
    if arr.ndim != 2:
        hint = ""
        if arr.ndim > 2:
            more = ",".join(["0"] * (arr.ndim - 2))
            example = (f"{source[:-1]},{more}]" if source.endswith("]")
                       else f"{path.name}[{more}]")
            hint = f": pick a 2-D slice, e.g. '{example}'"
        raise FilterError(f"the array has shape {arr.shape}, a kernel must be 2-D{hint}", source)
    if not np.all(np.isfinite(arr)):
        raise FilterError("the array has NaN or infinite values: replace them with numbers",
                          source)
    kh, kw = arr.shape
    desc = f"{kh}x{kw} array from {source}"
    if original != arr.shape:
        desc += f" (of an array of shape {original})"
    return Kernel(arr, name=stem(str(path)), description=desc, source=source,
                  meta={"format": path.suffix.lower().lstrip(".")})


def load_array_file(path: Path, source: str) -> Kernel:
    """A whole ``.npy`` or ``.csv`` file as a kernel (it must hold a 2-D array)."""
    arr = load_array(path, source)
    return _array_kernel(arr, path, source, arr.shape)


def load_sliced(path_text: str, index_text: str, source: str) -> Kernel:
    """The 2-D slice ``path_text[index_text]`` of an array file, named ``stem_3_0``."""
    path = Path(path_text)
    index = parse_index(index_text, source)
    arr = load_array(path, source)
    try:
        sub = arr[index]
    except (IndexError, ValueError, TypeError) as exc:
        raise FilterError(f"cannot index the array of shape {arr.shape} with [{index_text}]: "
                          f"{exc}", source) from None
    k = _array_kernel(np.asarray(sub, dtype=np.float64), path, source, arr.shape)
    # w.npy[3,0] and w.npy[3,1] are different filters: name them apart (w_3_0, w_3_1)
    label = re.sub(r"[^A-Za-z0-9.+-]+", "_", index_text).strip("_")
    return dataclasses.replace(k, name=f"{k.name}_{label}" if label else k.name)


def sliced_spec(text: str) -> Kernel | None:
    """The kernel of ``FILE.npy[index]`` (or ``.csv``); ``None`` when ``text`` is no slice.

    Raises
    ------
    FilterError
        For a bad slice, a missing file, or ``w.npy[3,0`` without its closing ``]``.
    """
    m = _SLICE_RE.fullmatch(text)
    if m:
        return load_sliced(m["path"], m["index"], text)
    if re.search(r"\.(npy|csv)\[", text, re.IGNORECASE) and not text.endswith("]"):
        raise FilterError("a slice of an array file must end with ']', e.g. 'w.npy[3,0]'",
                          text)
    return None
