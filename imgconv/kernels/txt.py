"""TXT, CSV and inline matrices (docs/semantics.md §2).

One kernel row per line (or per ``;`` inline); values separated by spaces, tabs
or commas, in the number syntax of :mod:`imgconv.kernels.numbers`; ``#`` starts a
comment; blank lines are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from imgconv.errors import FilterError
from imgconv.kernels.kernel import Kernel
from imgconv.kernels.numbers import BadNumber, row
from imgconv.kernels.words import stem, values


def rows_to_matrix(
    rows: Sequence[tuple[int, str]], source: str, unit: str, with_line: bool
) -> npt.NDArray[np.float64]:
    """Parse ``(number, text)`` rows into a rectangular float64 matrix.

    ``unit`` is ``"line"`` or ``"row"``; when ``with_line`` the number is also the
    :class:`FilterError` line.  Rows without values are skipped.
    """
    matrix: list[list[float]] = []
    first: tuple[int, int] | None = None
    for no, text in rows:
        where = no if with_line else None
        try:
            numbers = row(text)
        except BadNumber as exc:
            msg = str(exc) if with_line else f"{unit} {no}: {exc}"
            raise FilterError(msg, source, where) from None
        if not numbers:
            continue
        if first is None:
            first = (no, len(numbers))
        elif len(numbers) != first[1]:
            # the error names the line: not "line 3: line 3 has 2 values"
            said = (f"{values(len(numbers))}, but" if with_line else
                    f"{unit} {no} has {values(len(numbers))},")
            raise FilterError(
                f"{said} {unit} {first[0]} has {first[1]}: "
                "every row of a kernel needs the same number of values",
                source,
                where,
            )
        matrix.append(numbers)
    if not matrix:
        raise FilterError(
            "no kernel values found (empty, or only comments and blank lines)", source
        )
    return np.array(matrix, dtype=np.float64)


def txt_matrix(
    text: str, source: str, line_offset: int = 0
) -> tuple[npt.NDArray[np.float64], str]:
    """The matrix of a TXT text and its leading comment (the description)."""
    rows: list[tuple[int, str]] = []
    header: list[str] = []
    for i, raw in enumerate(text.split("\n"), start=1 + line_offset):
        data, hash_, comment = raw.partition("#")
        if data.strip():
            rows.append((i, data))
        elif hash_ and not rows:
            header.append(comment.strip())
    return rows_to_matrix(rows, source, "line", True), " ".join(h for h in header if h)


def _text_kernel(text: str, source: str | None, *, fmt: str, unnamed: str,
                 line_offset: int = 0) -> Kernel:
    """A TXT-syntax kernel named after ``source``'s stem (``unnamed`` in errors without one)."""
    src = source if source is not None else unnamed
    weights, header = txt_matrix(text, src, line_offset)
    kh, kw = weights.shape
    return Kernel(
        weights,
        name=stem(source),
        description=header or f"{kh}x{kw} kernel from {src}",
        source=src,
        meta={"format": fmt},
    )


def parse_txt(text: str, source: str | None = None, *, line_offset: int = 0) -> Kernel:
    """Parse a kernel in TXT syntax (docs/semantics.md §2).

    One kernel row per line; values separated by spaces, tabs or commas; integers,
    decimals, exponents or fractions (``1/16``, ``-3/4``); ``#`` starts a comment;
    blank lines are ignored.  Comment lines before the first row become the
    kernel's description.

    Parameters
    ----------
    text
        The file's text.
    source
        The file name (used in errors and for the kernel's name, its stem).
    line_offset
        Added to line numbers in errors (for a TXT block inside a YAML file).

    Returns
    -------
    Kernel
        Named after ``source``'s stem, scale 1.

    Raises
    ------
    FilterError
        Naming the line: ragged rows, a value that is not a finite number (quoted),
        a division by zero, or no values at all.
    """
    return _text_kernel(text, source, fmt="txt", unnamed="<text>", line_offset=line_offset)


def parse_csv(text: str, source: str | None = None) -> Kernel:
    """Parse a 2-D numeric CSV kernel (comma separated, ``#`` comments).

    The same number syntax as TXT (fractions allowed); see :func:`parse_txt`.
    """
    return _text_kernel(text, source, fmt="csv", unnamed="<csv>")


_INLINE_RE = re.compile(r"[0-9eE+\-./,; \t\r\n]+")


def looks_inline(spec: str) -> bool:
    """True when ``spec`` has only the characters of an inline matrix and a digit."""
    return bool(_INLINE_RE.fullmatch(spec)) and any(c.isdigit() for c in spec)


def parse_inline(text: str, source: str | None = None) -> Kernel:
    """Parse an inline matrix such as ``"1 2 1; 2 4 2; 1 2 1"``.

    Rows are split by ``;`` (or newlines), values by spaces or commas; the number
    syntax is the TXT one (``1/16`` allowed).  The kernel is named ``inline``; in
    default output names it is ``k3x3-`` and its digest (:attr:`Kernel.file_name`).

    Raises
    ------
    FilterError
        Naming the row: ragged rows, a bad value, or no values.
    """
    src = source if source is not None else text
    weights = inline_matrix(re.split(r"[;\n]", text), src)
    kh, kw = weights.shape
    meta: dict[str, object] = {"format": "inline"}
    groups = [g for g in text.split(",") if g.strip()]
    if kh == 1 and len(groups) > 1 and all(len(g.split()) > 1 for g in groups):
        # "1 2 1, 2 4 2, 1 2 1": commas between groups of numbers look like rows, but rows
        # are split by ";" (commas separate values, as MATLAB reads them)
        meta["note"] = (f"{text.strip()!r} is one row of {kw} numbers: rows are separated by "
                        f"';' (e.g. {'; '.join(g.strip() for g in groups)!r})")
    return Kernel(
        weights,
        name="inline",
        description=f"inline {kh}x{kw} matrix",
        source=src,
        meta=meta,
    )


def inline_matrix(rows: Sequence[str], source: str) -> npt.NDArray[np.float64]:
    """The matrix of rows already split apart; errors name the row (``row 2: ...``)."""
    return rows_to_matrix(list(enumerate(rows, start=1)), source, "row", False)
