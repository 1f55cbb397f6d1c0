"""Errors raised by imgconv.

Every error a user can cause is an :class:`ImgconvError` (a ``ValueError``), whose
message names the culprit (file, line, option, value) and says what to do.  The CLI
prints the message on one line and exits with :attr:`ImgconvError.exit_code`.
"""

from __future__ import annotations

import os
from pathlib import Path


class ImgconvError(ValueError):
    """Base class: bad input or bad usage detected before any work (exit code 2).

    ``param`` names the library parameter the message is about (``size``, ``boundary``),
    when there is one: the message then spells it ``size='valid'`` and the CLI rewrites
    that to its flag (``--size valid``).  ``file`` is the file it is about, when known
    (the ``file`` of the ``--json`` error object).
    """

    exit_code: int = 2

    def __init__(self, message: str, *, param: str | tuple[str, ...] | None = None,
                 file: str | Path | None = None) -> None:
        super().__init__(message)
        self.params: tuple[str, ...] = (param,) if isinstance(param, str) else (param or ())
        self.param = self.params[0] if self.params else None
        self.file = None if file is None else str(file)

    def about(self, file: str | os.PathLike[str]) -> ImgconvError:
        """This error, naming ``file``: as it is when its message already names it, else
        a copy prefixed ``FILE: ``; its ``file`` set when it had none."""
        import copy

        named = self
        if str(file) not in str(self):
            named = copy.copy(self)
            named.args = (f"{file}: {self}",)
        if named.file is None:
            named.file = str(file)
        return named


class FilterError(ImgconvError):
    """A filter (kernel) could not be loaded or is invalid.

    ``source`` is the file (or the inline text) and ``line`` the 1-based line, when known.
    """

    def __init__(self, message: str, source: str | Path | None = None, line: int | None = None,
                 *, param: str | tuple[str, ...] | None = None):
        self.source = None if source is None else str(source)
        self.line = line
        where = ""
        if self.source is not None:
            where = self.source if line is None else f"{self.source}, line {line}"
            where += ": "
        super().__init__(where + message, param=param)


class ImageError(ImgconvError):
    """An image could not be read, or cannot be written in the requested form."""


class OutputError(ImgconvError):
    """An output would overwrite an input or an existing file, or cannot be created."""


class SettingError(ImgconvError):
    """An environment variable imgconv reads holds a value it cannot use (exit code 2).

    The message names the variable and its value (``IMGCONV_MAX_PIXELS='inf': ...``),
    never the file being read when it was consulted; ``variable`` is its name.
    """

    def __init__(self, variable: str, value: str, problem: str) -> None:
        self.variable, self.value, self.problem = variable, value, problem
        super().__init__(f"environment variable {variable}={value!r}: {problem}")

    def __reduce__(self) -> tuple[type[SettingError], tuple[str, str, str]]:
        return SettingError, (self.variable, self.value, self.problem)  # across processes


class WorkError(ImgconvError):
    """Work failed after it started (a write that failed, a file in a batch): exit code 1."""

    exit_code = 1
