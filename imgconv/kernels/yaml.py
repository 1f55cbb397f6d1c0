"""YAML filter files (docs/semantics.md §2), read with ``yaml.SafeLoader`` semantics.

Tags are never executed.  Errors name the line of the node at fault; an unknown key
gets a did-you-mean.  PyYAML is imported on first use: most commands never read a
YAML file, and ``import imgconv.kernels`` must stay cheap.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import yaml
else:

    class _LazyYaml:
        """PyYAML, imported on first use: most commands never read a YAML file."""

        def __getattr__(self, name: str) -> object:
            import yaml as module

            return getattr(module, name)

    yaml = _LazyYaml()

from imgconv.errors import FilterError
from imgconv.kernels.generators import (
    GENERATORS,
    generate_text,
    run_generator,
    unknown_generator,
)
from imgconv.kernels.kernel import Kernel
from imgconv.kernels.numbers import BadNumber, number, row
from imgconv.kernels.txt import inline_matrix, txt_matrix
from imgconv.kernels.words import stem, values
from imgconv.kernels.yamlsyntax import plain_syntax
from imgconv.spelling import did_you_mean

#: The keys a YAML filter file may have.
YAML_KEYS: tuple[str, ...] = (
    "name", "description", "kernel", "generator", "scale", "divisor", "normalize", "offset",
    "anchor",
)

# key -> (line of the key, value node), in file order
_Entries = dict[str, tuple[int, "yaml.Node"]]


# -------------------------------------------------------------------------------------
# nodes: line numbers and plain values
# -------------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return "value"


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> FilterError:
    if isinstance(exc, yaml.MarkedYAMLError):
        said = plain_syntax(exc)
        if said is not None:
            return FilterError(f"not valid YAML: {said[0]}", source, said[1])
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        msg = ", ".join(parts) or "syntax error"
        line = None if mark is None else int(mark.line) + 1
        return FilterError(f"not valid YAML: {msg}", source, line)
    position = getattr(exc, "position", None)
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    return FilterError(f"not valid YAML: {reason}", source, line)


def _construct(node: yaml.Node, source: str, what: str) -> object:
    """The Python value of a node, with yaml.SafeLoader semantics (tags never executed)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = _line(node) if mark is None else int(mark.line) + 1
        problem = exc.problem or "cannot be read"
        if "constructor for the tag" in problem:
            problem = problem.replace("could not determine a constructor for the tag",
                                      "YAML tag not allowed:")
            raise FilterError(f"{problem} (filter files are read like yaml.safe_load: plain "
                              "values only, nothing is executed)", source, line) from None
        raise FilterError(f"{what}: {problem}", source, line) from None
    except Exception as exc:  # noqa: BLE001 - e.g. ValueError for a bad timestamp
        raise FilterError(f"{what}: {exc}", source, _line(node)) from None
    finally:
        loader.dispose()


def _scalar(node: yaml.Node, source: str, what: str) -> object:
    """The value of a scalar node; ``None`` for a list or a mapping."""
    return _construct(node, source, what) if isinstance(node, yaml.ScalarNode) else None


def _yaml_number(node: yaml.Node, source: str, what: str) -> float:
    if not isinstance(node, yaml.ScalarNode):
        raise FilterError(f"{what} must be a number, not a {_kind(node)}", source, _line(node))
    value = _construct(node, source, what)
    if isinstance(value, bool) or value is None:
        raise FilterError(f"{what} must be a number, not {node.value or 'empty'!r}",
                          source, _line(node))
    if isinstance(value, int | float):
        if not math.isfinite(float(value)):
            raise FilterError(f"{what}: {node.value!r} is not a finite number (NaN and infinity "
                              "are not allowed)", source, _line(node))
        return float(value)
    if isinstance(value, str):
        try:
            return number(value)
        except BadNumber as exc:
            raise FilterError(f"{what}: {exc}", source, _line(node)) from None
    raise FilterError(f"{what} must be a number, not {node.value!r}", source, _line(node))


def _yaml_text(node: yaml.Node, source: str, key: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise FilterError(f"{key}: must be text, not a {_kind(node)}", source, _line(node))
    value = _construct(node, source, key)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(node.value)


def _fraction_text(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


# -------------------------------------------------------------------------------------
# kernel: and generator:
# -------------------------------------------------------------------------------------


def _yaml_kernel(node: yaml.Node, source: str) -> npt.NDArray[np.float64]:
    """The weights of a ``kernel:`` value: a list of rows or a block string (TXT syntax)."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar_kernel(node, source)
    if isinstance(node, yaml.MappingNode):
        raise FilterError("kernel: must be a list of rows or a block string, not a mapping "
                          "(for a generator use 'generator:')", source, _line(node))
    assert isinstance(node, yaml.SequenceNode)
    if not node.value:
        raise FilterError("kernel: is an empty list: give at least one row of numbers",
                          source, _line(node))
    matrix: list[list[float]] = []
    first: tuple[int, int] | None = None
    for ri, rnode in enumerate(node.value, start=1):
        rl = _line(rnode)
        numbers = _kernel_row(rnode, source)
        if first is None:
            first = (rl, len(numbers))
        elif len(numbers) != first[1]:
            raise FilterError(
                f"kernel row {ri} (line {rl}) has {values(len(numbers))}, row 1 (line "
                f"{first[0]}) has {first[1]}: every row needs the same number of values",
                source, rl,
            )
        matrix.append(numbers)
    return np.array(matrix, dtype=np.float64)


def _scalar_kernel(node: yaml.ScalarNode, source: str) -> npt.NDArray[np.float64]:
    """``kernel: '1 2; 3 4'`` or a block string in TXT syntax."""
    value = _construct(node, source, "kernel")
    if isinstance(value, str):
        if "\n" not in value.strip() and ";" in value:
            try:
                return inline_matrix(value.split(";"), "kernel")
            except FilterError as exc:
                raise FilterError(str(exc), source, _line(node)) from None
        offset = _line(node) if node.style in ("|", ">") else _line(node) - 1
        return txt_matrix(value, source, offset)[0]
    if value is None:
        raise FilterError("kernel: is empty: give a list of rows, e.g. [[1, 2, 1]]",
                          source, _line(node))
    raise FilterError(
        f"kernel: is a single value ({node.value!r}): a kernel is a list of rows, e.g. "
        "[[1, 2, 1], [2, 4, 2], [1, 2, 1]] (a scalar is not a 2-D kernel)",
        source, _line(node),
    )


def _kernel_row(rnode: yaml.Node, source: str) -> list[float]:
    """One row of ``kernel:``: a list of numbers, or a string of them."""
    rl = _line(rnode)
    numbers: list[float] = []
    if isinstance(rnode, yaml.ScalarNode):
        rv = _construct(rnode, source, "kernel")
        if not isinstance(rv, str):
            raise FilterError(
                f"kernel: a row is the single value {rnode.value!r}: write each row as a "
                "list, e.g. [[1, 2, 1]] for a 1x3 kernel (a flat list is not a 2-D kernel)",
                source, rl,
            )
        try:
            numbers = row(rv)
        except BadNumber as exc:
            raise FilterError(f"kernel row: {exc}", source, rl) from None
    elif isinstance(rnode, yaml.SequenceNode):
        for enode in rnode.value:
            if not isinstance(enode, yaml.ScalarNode):
                raise FilterError(
                    f"kernel: a value in the row on line {rl} is a {_kind(enode)}: a kernel "
                    "must be 2-D (for a 3-D or 4-D array use a .npy file with a slice, "
                    "e.g. 'w.npy[0,0]')",
                    source, _line(enode),
                )
            numbers.append(_yaml_number(enode, source, "kernel value"))
    else:
        raise FilterError("kernel: a row is a mapping: write rows as lists of numbers",
                          source, rl)
    if not numbers:
        raise FilterError("kernel: empty row: give every row its numbers", source, rl)
    return numbers


def _yaml_generator(node: yaml.Node, source: str, key_line: int) -> Kernel:
    """``generator: 'gaussian:sigma=1.5'`` or ``generator: {type: gaussian, sigma: 1.5}``."""
    if isinstance(node, yaml.ScalarNode):
        value = _construct(node, source, "generator")
        if not isinstance(value, str) or not value.strip():
            raise FilterError("generator: give {type: NAME, param: value, ...} or "
                              "'NAME:param=value'", source, _line(node))
        return generate_text(value, source, _line(node), with_name=True)
    if not isinstance(node, yaml.MappingNode):
        raise FilterError("generator: must be a mapping such as {type: gaussian, sigma: 1.5}",
                          source, _line(node))
    gname: str | None = None
    raw: dict[str, object] = {}
    lines: dict[str, int] = {}
    for knode, vnode in node.value:
        key = _construct(knode, source, "generator key")
        if not isinstance(key, str):
            raise FilterError(f"generator: key {knode.value!r} is not a word", source,
                              _line(knode))
        key = key.strip().lower()
        if key in lines or (key == "type" and gname is not None):
            raise FilterError(f"generator: {key} is given twice", source, _line(knode))
        if key == "type":
            t = _scalar(vnode, source, "generator type")
            if not isinstance(t, str):
                raise FilterError("generator: type must be a generator name "
                                  f"({', '.join(GENERATORS)})", source, _line(vnode))
            gname = t.strip().lower()
            lines["type"] = _line(knode)
            continue
        if not isinstance(vnode, yaml.ScalarNode):
            raise FilterError(f"generator: {key} must be a single value, not a {_kind(vnode)}",
                              source, _line(vnode))
        raw[key] = _construct(vnode, source, f"generator {key}")
        lines[key] = _line(knode)
    if gname is None:
        raise FilterError("generator: has no type (e.g. {type: gaussian, sigma: 1.5}; "
                          f"types: {', '.join(GENERATORS)})", source, key_line)
    gen = GENERATORS.get(gname)
    if gen is None:
        raise unknown_generator(gname, gname, source, lines["type"])
    return run_generator(gen, raw, source, lines, key_line)


# -------------------------------------------------------------------------------------
# the document
# -------------------------------------------------------------------------------------


def parse_yaml(text: str, source: str | None = None) -> Kernel:
    """Parse a YAML filter file (docs/semantics.md §2), always with ``yaml.SafeLoader`` semantics.

    Keys: ``name``, ``description``, ``kernel`` (a list of rows of numbers or
    fraction strings, or a block string in TXT syntax) or ``generator``
    (``{type: gaussian, sigma: 1.5}`` or ``"gaussian:sigma=1.5"``), at most one of
    ``scale`` (number or ``"1/273"``), ``divisor`` (not 0) and ``normalize``
    (``true``: scale = 1/sum, refused for a zero-sum kernel), ``offset`` and
    ``anchor: [row, col]``.  A top level that is a list of rows is read as a bare
    kernel.

    Parameters
    ----------
    text
        The file's text.
    source
        The file name (used in errors; its stem is the default name).

    Returns
    -------
    Kernel
        ``meta["format"]`` is ``"yaml"``; ``meta["scale_text"]`` is the scale, divisor
        or normalize value as written, when given.

    Raises
    ------
    FilterError
        With the line: YAML syntax errors, tags (never executed), unknown or repeated
        keys (with a did-you-mean), both or neither of kernel/generator, more than one
        of scale/divisor/normalize, bad values, ragged rows, non-2-D kernels, a bad anchor.
    """
    src = source if source is not None else "<yaml>"
    root = _compose(text, src)
    if isinstance(root, yaml.SequenceNode):  # a bare list of rows
        weights = _yaml_kernel(root, src)
        kh, kw = weights.shape
        return Kernel(weights, name=stem(source), description=f"{kh}x{kw} kernel from {src}",
                      source=src, meta={"format": "yaml"})
    entries = _entries(root, src)
    name, description = _name_and_description(entries, source, src)
    meta: dict[str, object] = {"format": "yaml"}
    weights, description = _weights(entries, src, description, meta)
    scale = _scale(entries, src, weights, meta)
    offset = _yaml_number(entries["offset"][1], src, "offset") if "offset" in entries else 0.0
    anchor = _anchor(entries, src, weights)
    try:
        kernel = Kernel(weights, scale=scale, offset=offset, anchor=anchor, name=name,
                        description=description, meta=meta)
    except FilterError as exc:  # raised without a source: the message is bare
        line = entries.get("kernel", entries.get("generator", (None, None)))[0]
        raise FilterError(str(exc), src, line) from None
    return dataclasses.replace(kernel, source=src)


def _compose(text: str, src: str) -> yaml.Node:
    """The root node of a single-document YAML text, checked like ``yaml.safe_load``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, src) from None
    except RecursionError:
        raise FilterError("not valid YAML: nested too deeply", src) from None
    if root is None:
        raise FilterError("the file is empty: expected a mapping with 'kernel:' or 'generator:'",
                          src)
    _construct(root, src, "YAML value")  # safe_load semantics: refuses python/* tags etc.
    return root


def _entries(root: yaml.Node, src: str) -> _Entries:
    """The top-level keys, each known and given once, and their combinations checked."""
    if not isinstance(root, yaml.MappingNode):
        raise FilterError(
            "the top level must be a mapping of keys (name, description, kernel or generator, "
            f"scale, ...), not a single value {str(root.value)[:40]!r}",
            src, _line(root),
        )
    entries: _Entries = {}
    for knode, vnode in root.value:
        kl = _line(knode)
        key = _scalar(knode, src, "key")
        if not isinstance(key, str):
            raise FilterError(f"key {str(knode.value)[:40]!r} is not a word: the keys are "
                              f"{', '.join(YAML_KEYS)}", src, kl)
        if key not in YAML_KEYS:
            raise FilterError(
                f"unknown key {key!r}{did_you_mean(key, YAML_KEYS)}: the keys are "
                f"{', '.join(YAML_KEYS)}",
                src, kl,
            )
        if key in entries:
            raise FilterError(f"key {key!r} is given twice (lines {entries[key][0]} and {kl})",
                              src, kl)
        entries[key] = (kl, vnode)
    if "kernel" in entries and "generator" in entries:
        raise FilterError(
            f"give either 'kernel:' (line {entries['kernel'][0]}) or 'generator:' (line "
            f"{entries['generator'][0]}), not both", src, entries["generator"][0],
        )
    scaling = [k for k in ("scale", "divisor", "normalize") if k in entries]
    if len(scaling) > 1:
        a, b = scaling[0], scaling[1]
        raise FilterError(
            f"give at most one of scale, divisor and normalize ({a} on line {entries[a][0]}, "
            f"{b} on line {entries[b][0]})", src, entries[b][0],
        )
    return entries


def _name_and_description(entries: _Entries, source: str | None, src: str) -> tuple[str, str]:
    name = stem(source)
    if "name" in entries:
        name = _yaml_text(entries["name"][1], src, "name").strip()
        if not name:
            raise FilterError("name: is empty", src, entries["name"][0])
    description = ""
    if "description" in entries:
        description = _yaml_text(entries["description"][1], src, "description").strip()
    return name, description


def _weights(entries: _Entries, src: str, description: str,
             meta: dict[str, object]) -> tuple[npt.NDArray[np.float64], str]:
    """The weights from ``kernel:`` or ``generator:`` (whose description fills a gap)."""
    if "kernel" in entries:
        return _yaml_kernel(entries["kernel"][1], src), description
    if "generator" in entries:
        gk = _yaml_generator(entries["generator"][1], src, entries["generator"][0])
        meta.update({k: v for k, v in gk.meta.items() if k != "format"})
        return np.array(gk.weights), description or gk.description
    raise FilterError("no 'kernel:' or 'generator:' key: give the kernel as a list of rows "
                      "or a generator such as {type: gaussian, sigma: 1.5}", src)


def _scale(entries: _Entries, src: str, weights: npt.NDArray[np.float64],
           meta: dict[str, object]) -> float:
    """The scale from ``scale:``, ``divisor:`` or ``normalize:`` (1 without them)."""
    if "scale" in entries:
        sl, sn = entries["scale"]
        scale = _yaml_number(sn, src, "scale")
        if scale == 0.0:
            raise FilterError("scale: 0 makes every output zero: remove it or give the scale",
                              src, sl)
        meta["scale_text"] = _fraction_text(sn)
        return scale
    if "divisor" in entries:
        dl, dn = entries["divisor"]
        divisor = _yaml_number(dn, src, "divisor")
        if divisor == 0.0:
            raise FilterError("divisor: cannot be 0 (it divides the kernel): use the kernel's "
                              "sum, or drop divisor for a zero-sum kernel", src, dl)
        scale = 1.0 / divisor
        if not math.isfinite(scale) or scale == 0.0:
            raise FilterError(f"divisor: {dn.value!r} is out of range", src, dl)
        meta["scale_text"] = f"1/{_fraction_text(dn)}"
        return scale
    if "normalize" in entries:
        return _normalize(entries["normalize"], src, weights, meta)
    return 1.0


def _normalize(entry: tuple[int, yaml.Node], src: str, weights: npt.NDArray[np.float64],
               meta: dict[str, object]) -> float:
    """``normalize: true``: the scale 1/sum, refused for a zero-sum kernel."""
    nl, nn = entry
    flag = _scalar(nn, src, "normalize")
    if not isinstance(flag, bool):
        raise FilterError("normalize: must be true or false", src, nl)
    if not flag:
        return 1.0
    with np.errstate(over="ignore"):
        total = float(weights.sum())
        abs_total = float(np.abs(weights).sum())
    if not (math.isfinite(total) and math.isfinite(1.0 / total if total else 0.0)):
        raise FilterError("normalize: the kernel's sum is out of range (too large or "
                          "too small to divide by): give a scale instead", src, nl)
    if abs(total) <= 1e-12 * abs_total:
        raise FilterError(
            "normalize: true, but the kernel sums to zero (a zero-sum kernel such as "
            "Sobel, Laplacian or LoG cannot be divided by its sum): remove normalize "
            "or give a scale",
            src, nl,
        )
    meta["scale_text"] = "normalize"
    return 1.0 / total


def _anchor(entries: _Entries, src: str,
            weights: npt.NDArray[np.float64]) -> tuple[int, int] | None:
    """``anchor: [row, col]``, two whole numbers inside the kernel."""
    if "anchor" not in entries:
        return None
    al, an = entries["anchor"]
    items = an.value if isinstance(an, yaml.SequenceNode) else None
    vals = [_scalar(e, src, "anchor") for e in items or []]
    if (items is None or len(vals) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals)):
        raise FilterError("anchor: must be [row, col], two whole numbers (0-based)", src, al)
    anchor = (int(vals[0]), int(vals[1]))  # type: ignore[call-overload]
    try:
        Kernel(weights, anchor=anchor)
    except FilterError as exc:
        raise FilterError(f"anchor: {exc}", src, al) from None
    return anchor


# -------------------------------------------------------------------------------------
# writing
# -------------------------------------------------------------------------------------


def _yaml_value(v: float) -> str:
    if float(v).is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(float(v))


def _scale_text(v: float) -> str:
    """``1/273`` rather than ``0.003663003663003663`` when the scale is such a fraction."""
    from fractions import Fraction

    fr = Fraction(float(v)).limit_denominator(10**9)
    if fr.numerator == 1 and float(fr) == float(v):
        return f'"1/{fr.denominator}"'
    return _yaml_value(v)


def kernel_to_yaml(kernel: Kernel, *, name: str | None = None,
                   description: str | None = None) -> str:
    """The YAML text of a kernel, readable by :func:`parse_yaml` (anchor always written).

    Weights are written exactly (``repr`` of the floats); a scale other than 1 and
    an offset other than 0 are written too.
    """
    doc_name = name if name is not None else kernel.name
    doc_desc = description if description is not None else kernel.description
    # a JSON string (ASCII, escaped) is a valid YAML double-quoted scalar
    lines = [f"name: {json.dumps(doc_name)}"]
    if doc_desc:
        lines.append(f"description: {json.dumps(doc_desc)}")
    lines.append("kernel:")
    for weights_row in kernel.weights:
        lines.append("  - [" + ", ".join(_yaml_value(float(v)) for v in weights_row) + "]")
    if kernel.scale != 1.0:
        lines.append(f"scale: {_scale_text(kernel.scale)}")
    if kernel.offset != 0.0:
        lines.append(f"offset: {_yaml_value(kernel.offset)}")
    cy, cx = kernel.center
    lines.append(f"anchor: [{cy}, {cx}]")
    return "\n".join(lines) + "\n"
