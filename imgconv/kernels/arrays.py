"""Array files: ``.npy`` (never pickles) and ``.csv``, whole or as a 2-D slice.

``w.npy[3,0]`` (PyTorch's out, in, h, w) or ``w.npy[:,:,0,3]`` (Keras's h, w, in,
out) pick a 2-D kernel with numpy basic indexing, parsed and never evaluated
(docs/semantics.md §2).  A ``.npy`` file is judged by its header first (never a pickle,
real numbers, the kernel's shape and size): only then are the values the kernel needs
read, and only those, so a small slice of a huge file reads the slice.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from types import EllipsisType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from imgconv.errors import FilterError
from imgconv.kernels.kernel import Kernel, check_size
from imgconv.kernels.paths import open_filter, read_text
from imgconv.kernels.txt import txt_matrix
from imgconv.kernels.words import stem
from imgconv.npyfile import read_header

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


def _npy_layout(fh: BinaryIO, source: str) -> tuple[tuple[int, ...], np.dtype[Any], bool, int]:
    """(shape, dtype, Fortran order, data offset) from a ``.npy`` header alone: never a
    pickle, real numbers only, and every promised byte in the file."""
    magic = fh.read(6)
    fh.seek(0)
    if magic.startswith(b"PK"):
        raise FilterError("not a .npy array (an .npz archive?): save one array with np.save",
                          source)
    if magic.startswith(b"\x80"):  # a pickle (protocol 2 and later), not a .npy file
        raise FilterError(_PICKLE, source)
    try:
        head = read_header(fh)
    except (ValueError, OSError, EOFError) as exc:
        raise FilterError(f"cannot read as a .npy array: {exc}", source) from None
    dtype = head.dtype
    if dtype.hasobject:
        raise FilterError(_PICKLE, source)
    if dtype.kind == "c":
        raise FilterError(f"the array holds complex numbers ({dtype}): a kernel must be real "
                          "(save the real part or the magnitude)", source)
    if dtype.kind not in "biuf":
        raise FilterError(f"the array has dtype {dtype}: a kernel must be real numbers", source)
    if head.end > os.fstat(fh.fileno()).st_size:
        raise FilterError(f"truncated: the header promises a {dtype} array of shape "
                          f"{head.shape}, the file holds less", source)
    return head.shape, dtype, head.fortran, head.offset


_PICKLE = ("holds Python objects (a pickle), which imgconv never loads: save a numeric array "
           "with np.save")


def _npy_values(path: Path, source: str, index: _Index | None,
                index_text: str = "") -> tuple[npt.NDArray[np.float64], tuple[int, ...]]:
    """The values of a ``.npy`` file, or of ``index`` into it, and the file's shape.  The
    kernel's shape is checked from the header first; then only its own values are read."""
    with open_filter(path, source) as fh:
        shape, dtype, fortran, offset = _npy_layout(fh, source)
        # the shape of the result, from an array of the file's shape that holds nothing
        empty = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape,
                                                (0,) * len(shape), writeable=False)
        picked = empty if index is None else _indexed(empty, index, index_text, source)
        _check_shape(picked.shape, shape, index, source)
        # the byte offset of each value picked: an int drops its axis, a slice keeps it
        strides = (np.cumprod((1, *shape[:-1])) if fortran
                   else np.cumprod((1, *shape[:0:-1]))[::-1])
        at: Any = offset
        for item, n, stride in zip(_per_axis(index or (), len(shape)), shape,
                                   strides * dtype.itemsize, strict=True):
            step = np.arange(*item.indices(n)) if isinstance(item, slice) else item % n
            at = np.add.outer(at, step * int(stride)) if isinstance(item, slice) else (
                at + step * int(stride))
        return np.asarray(_read_at(fh, np.asarray(at), dtype), np.float64), shape


def _per_axis(index: _Index, ndim: int) -> list[int | slice]:
    """A basic index already checked against the array, one item an axis ('...' expanded)."""
    given = [item for item in index if item is not Ellipsis]
    out: list[int | slice] = []
    for item in index:
        out += [slice(None)] * (ndim - len(given)) if item is Ellipsis else [item]
    return out + [slice(None)] * (ndim - len(out))


_SPAN = 64 * 2**20  # values this close together are read in one piece


def _read_at(fh: BinaryIO, at: npt.NDArray[np.int64], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """The values at byte offsets ``at`` (any shape; basic indexing never repeats one):
    the bytes between the first and the last when they are close together, else each run
    of neighbours once (bounded by the values wanted, whatever the file's size)."""
    if not at.size:
        return np.zeros(at.shape, dtype)
    first, size = int(at.min()), dtype.itemsize
    if int(at.max()) - first < _SPAN:
        fh.seek(first)
        values = np.frombuffer(fh.read(int(at.max()) - first + size), dtype=dtype)
        return values[(at - first) // size]
    order = np.sort(at, axis=None)
    data = bytearray()
    for run in np.split(order, np.flatnonzero(np.diff(order) != size) + 1):
        fh.seek(int(run[0]))
        data += fh.read(len(run) * size)
    return np.frombuffer(bytes(data), dtype=dtype)[np.searchsorted(order, at)]


def _indexed(arr: npt.NDArray[Any], index: _Index, index_text: str,
             source: str) -> npt.NDArray[Any]:
    try:
        return arr[index]
    except (IndexError, ValueError, TypeError) as exc:
        raise FilterError(f"cannot index the array of shape {arr.shape} with [{index_text}]: "
                          f"{exc}", source) from None


def _check_shape(picked: tuple[int, ...], shape: tuple[int, ...], index: _Index | None,
                 source: str) -> None:
    """A kernel is 2-D and at most :data:`MAX_SIDE` a side (checked before values are read):
    ``picked`` is the shape ``index`` picks from the file's ``shape``."""
    if len(picked) != 2:
        example = _two_d(shape, index)
        hint = "" if example is None else (
            f": pick a 2-D slice, e.g. '{_base(source)}{example}'")
        raise FilterError(f"the array has shape {tuple(picked)}, a kernel must be 2-D{hint}",
                          source)
    check_size(picked, source)


def _base(source: str) -> str:
    """The file as the user named it: ``mat/w.npy`` of ``mat/w.npy[0:2,0]``."""
    return source[:source.rindex("[")] if _SLICE_RE.fullmatch(source) else source


def _two_d(shape: tuple[int, ...], index: _Index | None) -> str | None:
    """An index that picks a 2-D array from one of ``shape``, as close to ``index`` as can
    be: the last two axes it keeps kept, the ones before them taken at their first value
    (``[0:2,0,:,:]`` -> ``[0,0,:,:]``); too few kept, the last ones it takes at one value
    kept whole (``[0,0,0]`` -> ``[0,0,:,:]``).  Spelled like ``index`` (every axis) or, for
    a whole file, without the axes kept whole at the end (``[0,0]``).  ``None`` for a file
    of fewer than two axes."""
    if len(shape) < 2 or 0 in shape:
        return None
    items = _per_axis(index or (), len(shape))
    kept = [a for a, item in enumerate(items) if isinstance(item, slice)]
    for a in kept[:-2]:
        item = items[a]
        first = range(*item.indices(shape[a])) if isinstance(item, slice) else range(0)
        items[a] = first[0] if first else 0
    taken = [a for a, item in enumerate(items) if not isinstance(item, slice)]
    for a in taken[len(taken) - max(0, 2 - len(kept)):]:
        items[a] = slice(None)
    if any(isinstance(item, slice) and not range(*item.indices(n))
           for item, n in zip(items, shape, strict=True)):  # [5:9] of 4: all of the axis
        items = [item if isinstance(item, int) else slice(None) for item in items]
    spelled = [_spell(item) for item in items]
    while index is None and spelled and spelled[-1] == ":":
        spelled.pop()
    return f"[{','.join(spelled)}]"


def _spell(item: int | slice) -> str:
    """An index item as numpy writes it: ``0``, ``:``, ``0:2``, ``::2``."""
    if not isinstance(item, slice):
        return str(item)
    text = ":".join("" if v is None else str(v) for v in (item.start, item.stop, item.step))
    return text.removesuffix(":") if item.step is None else text


def _csv_values(path: Path, source: str, index: _Index | None,
                index_text: str = "") -> tuple[npt.NDArray[np.float64], tuple[int, ...]]:
    arr = txt_matrix(read_text(path, source), source)[0]
    picked = arr if index is None else _indexed(arr, index, index_text, source)
    _check_shape(picked.shape, arr.shape, index, source)
    return np.asarray(picked, dtype=np.float64), arr.shape


def _array_kernel(path: Path, source: str, index: _Index | None, index_text: str = "") -> Kernel:
    """The kernel of a whole array file, or of ``index`` into it."""
    read = _csv_values if path.suffix.lower() == ".csv" else _npy_values
    arr, original = read(path, source, index, index_text)
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
    return _array_kernel(path, source, None)


def load_sliced(path_text: str, index_text: str, source: str) -> Kernel:
    """The 2-D slice ``path_text[index_text]`` of an array file, named ``stem_3_0``."""
    index = parse_index(index_text, source)
    k = _array_kernel(Path(path_text), source, index, index_text)
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
