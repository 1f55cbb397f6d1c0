"""PyYAML's syntax errors said plainly: the line where the mistake is, and what to do.

PyYAML reports where it noticed a problem (``problem_mark``), which for an unclosed
bracket or quote is the line *after* the mistake, in its parser's words (``while parsing
a flow sequence, expected ',' or ']', but got '['``).  :func:`plain_syntax` turns the
common mistakes of a hand-written filter file into one line naming the line at fault (the
bracket's or quote's own line, from ``context_mark``) and the fix; an error it does not
know keeps PyYAML's words.  No PyYAML import: the error's attributes are read as they are.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["plain_syntax"]

_FOUND = re.compile(r"(?:but (?:got|found)|found character) '(.*?)'", re.DOTALL)
_CLOSE = {"[": "]", "{": "}"}
_TOKENS = {"<scalar>": "a value", "<stream end>": "the end of the file",
           "<block sequence start>": "'-'", "<block mapping start>": "a key",
           "<block end>": "the end of the block", "?": "a key", "-": "'-'"}


def _what(token: str) -> str:
    """A token of PyYAML's message as a person would name it."""
    return _TOKENS.get(token, f"'{token}'")


def plain_syntax(exc: Any) -> tuple[str, int] | None:
    """(message, 1-based line) for a ``yaml.MarkedYAMLError`` a person can act on, or
    ``None`` when it is not one of the mistakes known here."""
    problem, context = exc.problem or "", exc.context or ""
    at, opened = exc.problem_mark, exc.context_mark
    if at is None:
        return None
    line, col = at.line + 1, at.column + 1
    found = _FOUND.search(problem)
    token = found[1] if found else ""
    if (context.startswith(("while parsing a flow sequence", "while parsing a flow mapping"))
            and problem.startswith("expected ','") and opened is not None):
        return _unclosed_bracket(opened, line, col, token)
    if (context.startswith("while scanning a quoted scalar") and opened is not None
            and "unexpected end of stream" in problem):
        quote = "'" if opened.buffer is None else str(opened.buffer[opened.pointer])
        doubled = " (a ' inside a value is written twice: 'it''s')" if quote == "'" else ""
        return (f"the quote {quote} at column {opened.column + 1} is never closed: add the "
                f"closing {quote}{doubled}", opened.line + 1)
    if token in ("\\t", "\t") and "cannot start any token" in problem:  # PyYAML says '\t'
        return (f"a tab at column {col}: YAML indents with spaces, never tabs: replace the "
                "tab with spaces", line)
    if context.startswith("while parsing a flow node") and token == ",":
        return (f"an empty value before the ',' at column {col}: remove the extra ',' (or "
                "write the missing number)", line)
    if "cannot start any token" in problem:
        return (f"{_what(token)} at column {col} cannot start a YAML value: put the value in "
                "quotes", line)
    if problem.startswith("expected <block end>") and token in ("]", "}"):
        return (f"'{token}' at column {col} closes a bracket that is not open: remove it, "
                f"or add the '{'[' if token == ']' else '{'}' it closes", line)
    if problem.startswith("expected <block end>"):
        return (f"{_what(token)} at column {col} is not indented like the lines above it: "
                "start each row of a list with '- ' at the same column, and the keys "
                "(name:, kernel:, ...) at column 1", line)
    if problem.startswith("mapping values are not allowed"):
        return (f"':' at column {col} cannot go there: a key needs a space after its ':', a "
                "value that holds ': ' must be quoted ('a: b'), and keys of one level start at "
                "the same column", line)
    if problem.startswith("could not find expected ':'") and opened is not None:
        return ("this line is neither 'key: value' nor '- item': put a space after each "
                "':' and '-'", opened.line + 1)
    if context.startswith("expected a single document"):
        return ("a second YAML document starts here ('---'): a filter file holds one kernel: "
                "remove the '---' and what follows, or put each kernel in a file of its own",
                line)
    return None


def _unclosed_bracket(opened: Any, line: int, col: int, token: str) -> tuple[str, int]:
    """A flow sequence or mapping that ``token`` (at ``line``, ``col``) does not continue:
    its bracket never closed (named on its own line), or a missing ',' on that line."""
    bracket = "[" if opened.buffer is None else str(opened.buffer[opened.pointer])
    close = _CLOSE.get(bracket, "]")
    o_line, o_col = opened.line + 1, opened.column + 1
    if o_line == line:
        return (f"expected ',' or '{close}' before {_what(token)} at column {col}: separate "
                f"the values with ',' and close each '{bracket}' with '{close}'", line)
    where = "at the end of the line" if line == o_line + 1 else f"before line {line}"
    goes_on = ("the file ends" if token == "<stream end>" else
               f"line {line} goes on with {_what(token)}")
    return (f"the '{bracket}' at column {o_col} is never closed ({goes_on}): add its "
            f"'{close}' {where}", o_line)
