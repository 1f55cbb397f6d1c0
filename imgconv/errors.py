"""Errors raised by imgconv, and the messages they (and notes) carry.

Every error a user can cause is an :class:`ImgconvError` (a ``ValueError``), whose
message names the culprit (file, line, option, value) and says what to do.  The CLI
prints the message on one line and exits with :attr:`ImgconvError.exit_code`.

A message mentions the library's *parameters* as data, never as text to be parsed: it
is a :class:`Message`, written as a template whose fields are the parameters it names,
with their values::

    >>> m = Message("{size} needs {method}", {"size": "valid", "method": "direct"})
    >>> str(m)
    "size='valid' needs method='direct'"
    >>> m.render(lambda p: f"--{p.param} {p.text.strip(chr(39))}")
    '--size valid needs --method direct'

The library's spelling is the ``str``; the command line renders each :class:`Mention`
as its flag (:mod:`imgconv.cli.common`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple


class Mention(NamedTuple):
    """A parameter named in a message, with the value it is named with.

    ``text`` is the value as the library spells it after ``param=``: ``'valid'`` (a
    string, quoted), ``3``, ``True``, or a placeholder (``N``, ``...``, or empty for a
    bare ``memory_limit=``).
    """

    param: str
    text: str

    def __str__(self) -> str:
        return f"{self.param}={self.text}"


Part = str | Mention

# braces of interpolated text (:func:`verbatim`), until the template is read
_OPEN, _CLOSE = "\ue000", "\ue001"


def verbatim(text: object) -> str:
    """``text`` — a file name, a kernel's name, a spec or an error the user's input made —
    for an f-string template: its braces are never read as fields (a file named
    ``x{fmt}.png`` stays ``x{fmt}.png``, even in a message that mentions ``{fmt}``)."""
    return str(text).replace("{", _OPEN).replace("}", _CLOSE)


def _restored(part: Part) -> Part:
    if isinstance(part, str):
        return part.replace(_OPEN, "{").replace(_CLOSE, "}")
    return part

# ``{name}``, ``{name!s}``, ``{name:g}``, ``{name[1]}``: a field of the template
_FIELD = re.compile(r"\{(\w+)(?:\[(\d+)\])?(?:!([rs]))?(?::([^{}]*))?\}")


def _spelled(value: object, conversion: str | None, spec: str | None) -> str:
    """How the library spells ``value`` after ``param=``: repr by default (``'valid'``,
    ``3``, ``True``); ``!s`` unquoted; ``:spec`` formatted; ``...`` as ``...``."""
    if spec:
        return format(value, spec)
    if value is Ellipsis:
        return "..."
    return str(value) if conversion == "s" else repr(value)


def _parse(template: str, values: Mapping[str, object],
           text: Mapping[str, str]) -> tuple[Part, ...]:
    """``template`` cut into literal text and :class:`Mention` parts.

    A field ``{name}`` whose name is a key of ``values`` is a mention of that parameter
    (``{name[i]}``: the i-th of a tuple of values, when it is named more than once); one
    in ``text`` is plain text (``{file}``); any other brace is literal text."""
    parts: list[Part] = []
    last = 0
    for m in _FIELD.finditer(template):
        name, index, conversion, spec = m.groups()
        if name in values:
            value = values[name]
            if index is not None:
                value = value[int(index)]  # type: ignore[index]
            part: Part = Mention(name, _spelled(value, conversion, spec))
        elif name in text and index is None and conversion is None and spec is None:
            part = text[name]
        else:
            continue
        parts += [template[last:m.start()], part]
        last = m.end()
    parts.append(template[last:])
    return tuple(p for p in parts if p != "")


class Message(str):
    """A message (or a note) whose parameter mentions are data.

    ``Message("{page} is out of range", {"page": 7})`` is the ``str``
    ``"page=7 is out of range"``, with :attr:`parts` ``("page=7" as a Mention, " is out
    of range")``.  Fields are written ``{param}`` (value spelled by ``repr``), ``{param!s}``
    (unquoted: ``page=N``, ``output=...``), ``{param:g}`` (formatted) or ``{param[i]}``
    (a parameter named several times: a tuple of values).  Braces that are not fields of
    ``values`` are text, so text interpolated before (an f-string) stays as it is, unless
    it spells ``{NAME}`` for a NAME of ``values``.
    """

    parts: tuple[Part, ...]

    def __new__(cls, template: str = "", values: Mapping[str, object] | None = None,
                *, text: Mapping[str, str] | None = None) -> Message:
        return cls.of(_parse(template, values or {}, text or {}))

    @classmethod
    def of(cls, parts: Iterable[Part]) -> Message:
        """The message of these parts (text and mentions)."""
        parts = tuple(_restored(p) for p in parts)
        self = str.__new__(cls, "".join(str(p) for p in parts))
        self.parts = parts
        return self

    @classmethod
    def concat(cls, *pieces: str) -> Message:
        """``pieces`` one after the other, the mentions of those that are messages kept."""
        return cls.of(p for piece in pieces
                      for p in (piece.parts if isinstance(piece, Message) else (piece,)))

    def __reduce__(self) -> tuple[Callable[[Iterable[Part]], Message], tuple[tuple[Part, ...]]]:
        return Message.of, (self.parts,)  # across processes (a batch's notes and errors)

    @property
    def params(self) -> tuple[str, ...]:
        """The parameters mentioned, each once, in order."""
        return tuple(dict.fromkeys(p.param for p in self.parts if isinstance(p, Mention)))

    def render(self, spell: Callable[[Mention], str]) -> str:
        """The text with each mention spelled by ``spell`` (the CLI: as its flag)."""
        return "".join(spell(p) if isinstance(p, Mention) else p for p in self.parts)


def message(text: str) -> Message:
    """``text`` as a :class:`Message`: itself if it is one, else plain text (no fields)."""
    return text if isinstance(text, Message) else Message.of((text,))


class ImgconvError(ValueError):
    """Base class: bad input or bad usage detected before any work (exit code 2).

    ``message`` is a :class:`Message` template and ``values`` its parameters
    (``ImgconvError("{size} needs ...", values={"size": "valid"})``: ``size='valid'
    needs ...``; the CLI says ``--size valid needs ...``).  ``file`` is the file it is
    about, when known (the ``file`` of the ``--json`` error object); the message names
    it, by the field ``{file}`` or by :meth:`about`.  ``param`` names parameters the
    error is about that its message does not spell (``the mask has ...``).
    :attr:`params` are those and the ones it mentions (in the order of ``values``: the
    first is the one to change); :attr:`param` the first.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, values: Mapping[str, object] | None = None,
                 file: str | os.PathLike[str] | None = None,
                 param: str | tuple[str, ...] | None = None) -> None:
        self.file = None if file is None else os.fspath(file)
        if isinstance(message, Message) and values is None:
            self.message = message
        else:
            self.message = Message(message, values,
                                   text={} if self.file is None else {"file": self.file})
        super().__init__(self.message)
        about = (param,) if isinstance(param, str) else (param or ())
        named = tuple(k for k in values or {} if k in self.message.params)  # in their order
        self.params: tuple[str, ...] = tuple(dict.fromkeys(about + named + self.message.params))
        self.param = self.params[0] if self.params else None

    def __str__(self) -> str:
        return str(self.message)

    def about(self, file: str | os.PathLike[str]) -> ImgconvError:
        """This error, naming ``file``: as it is when it already names its file (its
        ``file`` is set), else a copy prefixed ``FILE: `` whose ``file`` is ``file``."""
        if self.file is not None:
            return self
        named = self.prefixed(f"{os.fspath(file)}: ")
        named.file = os.fspath(file)
        return named

    def prefixed(self, text: str) -> ImgconvError:
        """A copy of this error whose message starts with ``text`` (its mentions kept)."""
        return self.saying(Message.concat(text, self.message))

    def saying(self, message: Message, params: tuple[str, ...] | None = None) -> ImgconvError:
        """A copy of this error (same type, file, exit code) with ``message`` instead, and
        ``params`` when given."""
        named = type(self).__new__(type(self))  # not copy.copy: tblib (Dask) makes that
        named.__dict__.update(self.__dict__)  # share the original's __dict__
        named.message = message
        named.args = (message,)
        if params is not None:
            named.params, named.param = params, params[0] if params else None
        return named


class FilterError(ImgconvError):
    """A filter (kernel) could not be loaded or is invalid.

    ``source`` is the file (or the inline text) and ``line`` the 1-based line, when known.
    """

    def __init__(self, message: str, source: str | Path | None = None, line: int | None = None,
                 *, values: Mapping[str, object] | None = None,
                 param: str | tuple[str, ...] | None = None):
        self.source = None if source is None else str(source)
        self.line = line
        where = ""
        if self.source is not None:
            where = self.source if line is None else f"{self.source}, line {line}"
            where += ": "
        body = message if isinstance(message, Message) and values is None else \
            Message(message, values)
        super().__init__(Message.concat(where, body), param=param)


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
        super().__init__(Message.of((f"environment variable {variable}={value!r}: {problem}",)))

    def __reduce__(self) -> tuple[type[SettingError], tuple[str, str, str]]:
        return SettingError, (self.variable, self.value, self.problem)  # across processes


class WorkError(ImgconvError):
    """Work failed after it started (a write that failed, a file in a batch): exit code 1."""

    exit_code = 1
