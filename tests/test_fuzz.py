"""Fuzz (issue 13): filter files and command-line arguments, as a hostile user writes them.

Filter files (TXT, CSV, YAML, ``.npy``), inline matrices, generator specs and shipped
names, with fuzzed options of ``apply`` and ``show``, run in-process through Typer's
runner, each example in a folder of its own.  Whatever the input, imgconv must:

- exit 0, 1, 2 or 3 (docs/semantics.md §4), by a ``SystemExit`` only;
- print no "unexpected" error (a bug) and no traceback unless ``-v`` asked for one;
- leave its inputs (images and filter files) byte for byte as they were;
- leave no partial or temporary file (``.NAME.part``, ``.NAME.step…``), and write nothing
  at all when it fails (docs/semantics.md §5).

Bounded: a fixed number of examples, each under a deadline; the whole file runs in a few
seconds.
"""

from __future__ import annotations

import io
import itertools
import pickle
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

# -- filters ---------------------------------------------------------------------------------

NUMBERS = ["1", "-2", "0", "3.5", "1e3", "-1e-3", "1/16", "1/0", "0/0", "nan", "inf", "-inf",
           "1e999", "1e308", "2/3", "+4", "--1", "1/2/3", ".", "e", "x", "0x1F", "\u0663",
           "9" * 40]
SEPARATORS = [" ", "  ", "\t", ",", ", ", ",,", ";", "\n", "\r\n", "\n\n", "# note\n", "#"]
TEXT = st.lists(st.sampled_from(NUMBERS + SEPARATORS), max_size=30).map("".join)
MARKUP = ["[/x]", "[bold]red[/bold]", "photo [final]", "[link=file:///etc]x[/link]", "\\[x]",
          "a\u202eb", "\x1b[31mred", "tab\there", "ünï", "", "x" * 300, "'quoted'", '"',
          ":smile: :thumbs_up:"]
YAML_PIECES = [
    "kernel:", "name:", "generator:", "scale:", "divisor:", "normalize:", "anchor:", "offset:",
    "description:", "type: gaussian", "sigma: 2", "size: 3", " [", "]", "[[", "]]", "{", "}",
    "- ", "\n", "\n  ", ", ", ": ", "|", ">", "#", "&a ", "*a", "<<: *a", "!!str ",
    "!!python/object/apply:os.system ['true']", "!!binary", "? ", "---", "...", "\t", "~",
    "true", "null", ".nan", ".inf", "'1/3'", "0x1F", "1e999", "[1, 2]", "[[1, 2], [3, 4]]",
    "box:size=3", *NUMBERS[:8], *(f'"{m}"' for m in MARKUP[:5]),
]
YAML_TEXT = st.one_of(
    st.lists(st.sampled_from(YAML_PIECES), max_size=30).map("".join),
    st.builds(lambda name, rows: f"name: {name!r}\nkernel: {rows}\n", st.sampled_from(MARKUP),
              st.sampled_from(["[[1]]", "[[1, 2], [3, 4]]", "[[0.5, 0.5]]", "[[1, 2], [3]]"])),
)
GENERATOR = st.builds(
    lambda name, pairs: name + ":" + ",".join(f"{k}={v}" for k, v in pairs),
    st.sampled_from(["gaussian", "log", "unsharp", "box", "disk", "motion", "identity", "shift",
                     "sobel", "prewitt", "scharr", "gaussain", "nope"]),
    st.lists(st.tuples(st.sampled_from(["sigma", "size", "amount", "width", "height",
                                        "radius", "length", "angle", "dx", "dy", "axis",
                                        "bogus", ""]),
                       st.sampled_from(["1", "2", "3", "0", "-1", "0.5", "5", "1e9", "nan",
                                        "inf", "x", "y", "", "2/3", "1e-300"])),
             max_size=3),
)
SHIPPED = st.sampled_from(["box3", "BOX3.yaml", "sobel-x", "identity", "gaussian-sigma2",
                           "laplacian4", "box", "gaussian", "sobelx", "", " ", "-", "--abs"])
NPY = st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.float32, np.int16, np.uint8, np.bool_,
                                np.complex128]),
               hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
               elements={"allow_nan": True, "allow_infinity": True}
               ).map(lambda a: ("array", a)),
    st.sampled_from([("bytes", b""), ("bytes", b"\x93NUMPY\x01\x00"), ("bytes", b"junk"),
                     ("pickle", None)]),
)
INDEX = st.sampled_from(["", "[0]", "[0,0]", "[:,:,0]", "[...,1]", "[::-1]", "[9]", "[0",
                         "[x]", "[1:2:0]", "[-1,...]", "[,]"])


@st.composite
def filters(draw: st.DrawFn) -> tuple[str, dict[str, bytes]]:
    """(the -f argument, the filter files it needs: name -> bytes)."""
    kind = draw(st.sampled_from(["txt", "csv", "yaml", "npy", "inline", "generator",
                                 "shipped"]))
    if kind in ("inline", "generator", "shipped"):
        strategy = {"inline": TEXT, "generator": GENERATOR, "shipped": SHIPPED}[kind]
        return draw(strategy), {}
    name = draw(st.sampled_from([f"k.{kind}", f"k [x].{kind}", f"[bold]k.{kind}",
                                 f"K.{kind.upper()}"]))
    if kind == "npy":
        how, value = draw(NPY)
        data = _npy_bytes(how, value)
        return name + draw(INDEX), {name: data}
    text = draw(YAML_TEXT if kind == "yaml" else TEXT)
    bom = "\ufeff" if draw(st.booleans()) else ""
    data = (bom + text).encode("utf-8") if draw(st.integers(0, 9)) else b"\xff\xfe" + b"1 2"
    return name + (draw(INDEX) if kind == "csv" else ""), {name: data}


def _npy_bytes(how: str, value: object) -> bytes:
    buf = io.BytesIO()
    if how == "array":
        np.save(buf, value)
        return buf.getvalue()
    if how == "pickle":
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        return buf.getvalue() if value is None else pickle.dumps(value)
    assert isinstance(value, bytes)
    return value


# -- options ---------------------------------------------------------------------------------

def _opt(flag: str, *values: str) -> st.SearchStrategy[tuple[str, ...]]:
    return st.sampled_from(values).map(lambda v: (flag, v))


APPLY_OPTIONS = st.one_of(
    _opt("--mode", "correlate", "convolve", "CONVOLVE", "corr", ""),
    _opt("--method", "auto", "direct", "separable", "fft", "gpu"),
    _opt("-b", "reflect", "mirror", "nearest", "wrap", "constant", "symmetric", "edge",
         "BORDER_REFLECT_101", "grid-wrap", "nope"),
    _opt("--cval", "0", "-1.5", "nan", "inf", "1e400", "x"),
    _opt("--size", "same", "valid", "full", "big"),
    _opt("--dtype", "uint8", "uint16", "float32", "float64", "int7", "uint64"),
    _opt("--precision", "auto", "single", "double", "half"),
    _opt("--offset", "0", "-3", "nan", "1e309", "x"),
    _opt("--alpha", "keep", "filter", "premultiply", "drop"),
    _opt("--page", "0", "1", "-1", "99999999999", "x"),
    _opt("--memory-limit", "1KB", "64KB", "10MB", "0", "-1MB", "abc", "1e30GB", "2GiB"),
    st.sampled_from([("--abs",), ("--rescale",), ("--normalize",), ("--gray",), ("--json",),
                     ("-q",), ("-v",), ("--overwrite",), ("--bogus",), ("-f",)]),
)
SHOW_OPTIONS = st.one_of(
    _opt("--mode", "correlate", "convolve", "x"),
    st.sampled_from([("--json",), ("-q",), ("-v",), ("--overwrite",), ("--png", "show.png"),
                     ("--png", "show.txt"), ("--png", "missing/show.png"), ("--png", "k.npy")]),
)
IMAGES = ["in.png", "in.npy", "in16.tif", "rgba.png", "anim.gif", "missing.png", "k.txt"]
OUTPUTS = [None, "out.png", "out.tif", "out.npy", "out.jpg", "out.gif", "out.webp", "out.bmp",
           "out.xyz", "missing/out.png", "in.png", "[x] out.png", "out"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The input images every example starts from (small: the fuzz is about arguments)."""
    base = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(13)
    Image.fromarray(rng.integers(0, 256, (9, 7), dtype=np.uint8)).save(base / "in.png")
    Image.fromarray(rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)).save(base / "rgba.png")
    np.save(base / "in.npy", rng.random((6, 8)).astype(np.float32))
    import tifffile

    tifffile.imwrite(base / "in16.tif", rng.integers(0, 65536, (2, 5, 6, 3), dtype=np.uint16),
                     photometric="rgb")
    frames = [Image.fromarray(np.full((4, 4), 60 * i, np.uint8)) for i in range(3)]
    frames[0].save(base / "anim.gif", save_all=True, append_images=frames[1:])
    return base


_COUNTER = itertools.count()


def _folder(base: Path, images: Path, files: dict[str, bytes]) -> Path:
    folder = base / f"e{next(_COUNTER)}"
    shutil.copytree(images, folder)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _check(folder: Path, args: list[str]) -> int:
    """Run ``imgconv ARGS`` in-process and check the invariants; the exit code."""
    from typer.testing import CliRunner

    from imgconv.cli import app

    before = _snapshot(folder)
    result = CliRunner().invoke(app, args)
    text = result.stdout + result.stderr
    where = f"imgconv {' '.join(args)!r} -> exit {result.exit_code}\n{text}"
    assert result.exit_code in (0, 1, 2, 3), where
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{where}\n{result.exception!r}"
    assert "unexpected" not in text.lower(), where
    assert "-v" in args or "Traceback" not in text, where  # -v asks for tracebacks
    after = _snapshot(folder)
    assert {k: after.get(k) for k in before} == before, f"an input changed: {where}"
    hidden = [p.name for p in folder.rglob(".*")]
    assert not hidden, f"temporary files left {hidden}: {where}"
    if result.exit_code != 0:
        assert set(after) == set(before), f"wrote {set(after) - set(before)}: {where}"
    return result.exit_code


FUZZ = settings(max_examples=150, deadline=timedelta(seconds=5), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


MARKUP_NAME = ("k.yaml", {"k.yaml": b'name: "[/x]"\nkernel: [[1]]\n'})


@FUZZ
@given(spec=filters(), image=st.sampled_from(IMAGES), output=st.sampled_from(OUTPUTS),
       options=st.lists(APPLY_OPTIONS, max_size=4))
@example(spec=MARKUP_NAME, image="in.png", output=None, options=[])
@example(spec=MARKUP_NAME, image="in.png", output="[x] out.png", options=[("--json",)])
@example(spec=("[bold]k.txt", {"[bold]k.txt": b"1 x"}), image="in.png", output=None,
         options=[])
def test_fuzz_apply(tmp_path: Path, images: Path, spec: tuple[str, dict[str, bytes]],
                    image: str, output: str | None, options: list[tuple[str, ...]]) -> None:
    arg, files = spec
    folder = _folder(tmp_path, images, files)
    args = ["apply", str(folder / image), "-f", str(folder / arg) if files else arg]
    if output is not None:
        args += ["-o", str(folder / output)]
    args += [part for opt in options for part in opt]
    _check(folder, args)


@FUZZ
@given(spec=filters(), options=st.lists(SHOW_OPTIONS, max_size=3))
@example(spec=MARKUP_NAME, options=[])
@example(spec=MARKUP_NAME, options=[("--png", "show.png")])
def test_fuzz_show(tmp_path: Path, images: Path, spec: tuple[str, dict[str, bytes]],
                   options: list[tuple[str, ...]]) -> None:
    arg, files = spec
    folder = _folder(tmp_path, images, files)
    args = ["show", str(folder / arg) if files else arg]
    for opt in options:
        args += [opt[0]] + [str(folder / v) for v in opt[1:]]
    _check(folder, args)


@settings(max_examples=40, deadline=timedelta(seconds=5), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.sampled_from(["box3", "sobel-x", "k.txt", "k.yaml", "1 2 1",
                                       "gaussian:sigma=1", "w.npy[0]", "nope"]),
                      min_size=1, max_size=4))
def test_fuzz_chains(tmp_path: Path, images: Path, names: list[str]) -> None:
    """Several -f in sequence, some of them files that are fine, some not."""
    assume(names)
    files = {"k.txt": b"1 2 1\n2 4 2\n1 2 1\n", "k.yaml": b"kernel: [[0, 1], [1, 0]]\n",
             "w.npy": _npy_bytes("array", np.ones((2, 3, 3)))}
    folder = _folder(tmp_path, images, files)
    args = ["apply", str(folder / "in.png"), "-o", str(folder / "out.tif")]
    for name in names:
        args += ["-f", str(folder / name) if name.split("[")[0] in files else name]
    code = _check(folder, args)
    if "nope" not in names:
        assert code == 0 and (folder / "out.tif").is_file()
