"""The one number syntax of filter text (docs/semantics.md §2).

TXT and CSV files, inline matrices, YAML fraction strings (``scale: 1/273``,
``['1/16', 2]``) and generator parameters (``sigma=1/2``) all read their numbers
here: integers, decimals, exponents and fractions, finite only.
"""

from __future__ import annotations

import math
import re

_NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
#: A plain number (no fraction): ``3``, ``-0.5``, ``.5``, ``1e-3``.
NUMBER_RE = re.compile(_NUM)
_FRAC_RE = re.compile(rf"({_NUM})/({_NUM})")
_NONFINITE = r"[+-]?(?:nan|inf|infinity)"
_NONFINITE_RE = re.compile(_NONFINITE, re.IGNORECASE)
_NONFINITE_FRAC_RE = re.compile(rf"(?:{_NUM}|{_NONFINITE})/(?:{_NUM}|{_NONFINITE})",
                                re.IGNORECASE)
_NUMBER_HELP = "use integers, decimals, exponents or fractions like 1/16"


class BadNumber(Exception):
    """A token that is not a finite number; the message quotes it and says why.

    Internal to :mod:`imgconv.kernels`: the parsers turn it into a
    :class:`~imgconv.errors.FilterError` naming the file and line.
    """


def number(token: str) -> float:
    """The finite float a token denotes (``3``, ``-0.5``, ``1e-3``, ``1/16``, ``-3/4``).

    Raises
    ------
    BadNumber
        For anything else (the message quotes the token and says why).
    """
    t = token.strip()
    if NUMBER_RE.fullmatch(t):
        value = float(t)
    elif m := _FRAC_RE.fullmatch(t):
        num, den = float(m[1]), float(m[2])
        if den == 0.0:
            raise BadNumber(f"{t!r} divides by zero: use a non-zero denominator")
        value = num / den
    elif _NONFINITE_RE.fullmatch(t) or _NONFINITE_FRAC_RE.fullmatch(t):
        raise BadNumber(f"{t!r} is not a finite number (NaN and infinity are not allowed)")
    elif not t:
        raise BadNumber(f"empty value ({_NUMBER_HELP})")
    else:
        raise BadNumber(f"{t!r} is not a number ({_NUMBER_HELP})")
    if not math.isfinite(value):
        raise BadNumber(f"{t!r} is too large to be a finite number: use a smaller value")
    return value


def tokens(text: str) -> list[str]:
    """Split one row into value tokens (spaces, tabs or commas); ``,,`` is an error."""
    parts = text.split(",")
    if len(parts) > 1 and any(not p.strip() for p in parts):
        raise BadNumber("empty value between commas (or a leading/trailing comma)")
    out: list[str] = []
    for part in parts:
        out.extend(part.split())
    return out


def row(text: str) -> list[float]:
    """The numbers of one row of text (see :func:`tokens` and :func:`number`).

    Raises
    ------
    BadNumber
        For a bad separator or a value that is not a finite number.
    """
    return [number(tok) for tok in tokens(text)]
