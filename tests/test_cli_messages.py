"""What the command line says: the library's parameter mentions spelled as flags (from
fields, never from text), the options each command declares, and the small truths of
its messages (an option of another command, a cval no mode uses, a kernel or a filter
description wider than the terminal)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from imgconv.cli import app

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, columns: int | None = None) -> tuple[int, str, str]:
    env = {"COLUMNS": str(columns)} if columns else None
    r = CliRunner().invoke(app, list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


def run_main(*args: str) -> tuple[int, str, str]:
    """The ``imgconv`` entry point in a process of its own (usage errors are its)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "imgconv", *args], capture_output=True,
                       text=True, env=env, timeout=120)
    return r.returncode, r.stdout, r.stderr


# -- library errors name parameters as fields; the CLI spells them as its flags -------------
@pytest.mark.parametrize(
    ("template", "values", "library", "cli"),
    [
        ("{size} needs a kernel no larger than the image", {"size": "valid"},
         "size='valid' needs a kernel no larger than the image",
         "--size valid needs a kernel no larger than the image"),
        ("has 3 pages: pick one with {page!s}", {"page": "N"},
         "has 3 pages: pick one with page=N", "has 3 pages: pick one with --page N"),
        ("o.png: already exists (use {overwrite} to replace it)", {"overwrite": True},
         "o.png: already exists (use overwrite=True to replace it)",
         "o.png: already exists (use --overwrite to replace it)"),
        ("is an input (choose another output with {output!s})", {"output": ...},
         "is an input (choose another output with output=...)",
         "is an input (choose another output with -o)"),
        ("{memory_limit[0]} is too small; raise {memory_limit[1]!s}, or not",
         {"memory_limit": ("1KB", "")},
         "memory_limit='1KB' is too small; raise memory_limit=, or not",
         "--memory-limit 1KB is too small; raise --memory-limit, or not"),
        ("{gray} needs an RGB image", {"gray": True}, "gray=True needs an RGB image",
         "--gray needs an RGB image"),
        ("{cval} is not a finite number", {"cval": float("inf")},
         "cval=inf is not a finite number", "--cval inf is not a finite number"),
        ("{fmt} is not a format", {"fmt": "bmp2"}, "fmt='bmp2' is not a format",
         "--format bmp2 is not a format"),
        ("{filter} is ragged", {"filter": "1 2; 3"}, "filter='1 2; 3' is ragged",
         "-f '1 2; 3' is ragged"),
        ("{offset:g} and {auto_orient}", {"offset": 2.5, "auto_orient": False},
         "offset=2.5 and auto_orient=False", "--offset 2.5 and --no-auto-orient"),
        # only the fields of values are mentions: other text, braces included, stays
        ("mode='x' with {size} and outsize=3 {other}", {"size": "valid"},
         "mode='x' with size='valid' and outsize=3 {other}",
         "mode='x' with --size valid and outsize=3 {other}"),
    ],
)
def test_a_mention_is_spelled_as_its_flag(template: str, values: dict[str, object],
                                          library: str, cli: str) -> None:
    from imgconv.cli.common import spoken
    from imgconv.errors import ImgconvError, Message

    exc = ImgconvError(template, values=values)
    assert str(exc) == library and exc.message == library
    assert spoken(exc.message) == cli
    assert exc.params == tuple(values)
    note = Message(template, values)  # a note: the same, without the error
    assert isinstance(note, str) and note == library and spoken(note) == cli


def test_a_message_without_fields_is_left_as_it_is() -> None:
    from imgconv.cli.common import spoken
    from imgconv.errors import ImgconvError

    exc = ImgconvError("size='valid' stays")  # text, not a field: never parsed
    assert spoken(exc.message) == "size='valid' stays" and exc.params == ()
    assert spoken("size='valid' stays") == "size='valid' stays"


def test_a_message_keeps_its_fields_across_processes_and_prefixes() -> None:
    import pickle

    from imgconv.cli.common import spoken
    from imgconv.errors import ImageError, Message

    exc = ImageError("{file}: pick one with {page!s}", values={"page": "N"}, file="a.tif")
    assert str(exc) == "a.tif: pick one with page=N" and exc.file == "a.tif"
    back = pickle.loads(pickle.dumps(exc))
    assert spoken(back.message) == "a.tif: pick one with --page N" and back.file == "a.tif"
    assert exc.about("b.tif") is exc  # it names its file already
    bare = ImageError("{gray} needs RGB", values={"gray": True})
    named = bare.about("c.png")
    assert spoken(named.message) == "c.png: --gray needs RGB" and named.file == "c.png"
    assert str(named) == "c.png: gray=True needs RGB" and bare.file is None
    longer = Message.concat(named.message, " (1 output written)")
    assert spoken(longer) == "c.png: --gray needs RGB (1 output written)"


# -- options: Annotated aliases declared once, listed by each command --------------------------
def test_help_imports_no_heavy_library() -> None:
    """`imgconv --help` and each command's --help load neither numpy, scipy, OpenCV nor
    Pillow (nor rich's tables): start-up of a one-file run in a script matters."""
    import subprocess
    import sys

    code = ("import sys\nimport imgconv.cli as c\n"
            "for argv in ([], ['apply'], ['batch'], ['diff'], ['show'], ['filters'], "
            "['match'], ['compose']):\n"
            "    try:\n        c.app([*argv, '--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numpy', 'scipy', 'cv2', 'PIL'}))\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_commands_list_the_common_options_with_the_library_defaults() -> None:
    """Each of apply, batch and diff declares the shared options itself (no signature is
    built at run time), with FilterOptions' defaults; diff leaves out what it has no use
    for."""
    import inspect

    import imgconv.cli as cli
    from imgconv.cli import apply, batch, diff, flags
    from imgconv.options import FilterOptions

    defaults = {f.name: f.default for f in dataclasses.fields(FilterOptions)}
    for command, omitted in ((apply.apply, ()), (batch.batch, ()),
                             (diff.diff, ("rescale", "memory_limit", "strip"))):
        params = inspect.signature(command).parameters
        names = [n for n in params if n in flags.COMMON]
        assert names == [n for n in flags.COMMON if n not in omitted]
        for name in names:
            if name in defaults:
                assert params[name].default == defaults[name], (command, name)
    sources = Path(cli.__file__).parent.glob("*.py")
    assert not [p.name for p in sources if "__signature__" in p.read_text()]


# -- an option of another command -----------------------------------------------------------
def test_an_option_of_another_command_is_named_as_such(tmp_path: Path) -> None:
    """apply has no --workers: say that batch has it, not Click's guess (--force)."""
    code, _, err = run_main("apply", "x.png", "-f", "box3", "--workers", "2")
    assert code == 2 and "--force" not in err
    assert err.startswith("imgconv: error: No such option: --workers (it is an option of '")
    assert err.rstrip().endswith(" batch', not of 'python -m imgconv apply') (see 'python -m "
                                 "imgconv apply --help')")
    code, _, err = run_main("show", "box3", "--page", "1")
    assert code == 2 and "--page (it is an option of 'python -m imgconv apply', 'python -m " \
        "imgconv batch', 'python -m imgconv diff' and 'python -m imgconv match', not of " \
        "'python -m imgconv show')" in err
    code, _, err = run_main("apply", "x.png", "-f", "box3", "--overwritee")
    assert code == 2 and "No such option: --overwritee (Possible options: --overwrite)" in err


# -- diff says what apply says of a cval no boundary mode uses -------------------------------
@pytest.mark.parametrize(("args", "said"), [
    (["--a", "boundary=reflect,cval=3"],
     ["note: --a cval=3 has no effect with boundary=reflect (it is the value beyond the edges "
      "for boundary=constant)"]),
    (["--a", "cval=3"],  # the default boundary (reflect), as in the README's diff
     ["note: --a cval=3 has no effect with boundary=reflect (it is the value beyond the edges "
      "for boundary=constant)"]),
    (["--b", "cval=1.5"],
     ["note: --b cval=1.5 has no effect with boundary=reflect (it is the value beyond the "
      "edges for boundary=constant)"]),
    (["--cval", "3"],  # apply's very words
     ["note: --cval 3 has no effect with --boundary reflect (it is the value beyond the edges "
      "for --boundary constant)"]),
    (["--cval", "3", "--a", "boundary=constant"], []),  # variant A uses it
    (["--a", "boundary=constant,cval=3"], []),
])
def test_diff_notes_a_cval_its_boundary_does_not_use(tmp_path: Path, args: list[str],
                                                     said: list[str]) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.random.default_rng(4).random((9, 9)).astype(np.float32))
    code, _, err = run("diff", str(src), "-f", "box3", *args)
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("note:")] == said
    if said and "--cval" in args:
        code, _, apply_err = run("apply", str(src), "-f", "box3", "--cval", "3", "-o",
                                 str(tmp_path / "o.npy"))
        assert code == 0 and said[0] in apply_err.splitlines()


@pytest.mark.parametrize(("args", "said"), [
    (["--b", "mode=correlate"], "no filter given for variants A and B: add -f FILTER (see "
                                "'imgconv filters'), or give each variant its own with "
                                "filter=..."),
    (["--b", "filter=box3"], "no filter given for variant A (variant B has its own): add -f "
                             "FILTER (see 'imgconv filters'), or give A its own with "
                             "filter=..."),
])
def test_diff_names_the_variant_without_a_filter(tmp_path: Path, args: list[str],
                                                 said: str) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.zeros((9, 9), np.float32))
    code, _, err = run("diff", str(src), *args)
    assert code == 2 and err.strip() == f"imgconv: error: {said}"


def test_diff_says_a_tolerance_without_fail_on_diff_does_nothing(tmp_path: Path) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.zeros((9, 9), np.float32))
    code, _, err = run("diff", str(src), "-f", "box3", "--tolerance", "3", "--quiet")
    assert code == 0 and "note: --tolerance only matters with --fail-on-diff" in err
    code, _, err = run("diff", str(src), "-f", "box3", "--tolerance", "3", "--fail-on-diff",
                       "--quiet")
    assert code == 0 and "tolerance" not in err


# -- show: a kernel wider than the terminal ----------------------------------------------------
def _blocks(out: str) -> list[tuple[range, list[list[float]]]]:
    """The column blocks of a printed kernel: (columns, rows of numbers)."""
    blocks: list[tuple[range, list[list[float]]]] = []
    for line in out.splitlines():
        if line.startswith(("columns ", "column ")):  # "columns 6-11 of 17", "column 16 of 17"
            first, _, last = line.split()[1].partition("-")
            blocks.append((range(int(first), int(last or first) + 1), []))
        elif blocks and line.strip() and len(blocks[-1][1]) < 17:
            blocks[-1][1].append([float(x) for x in line.split()])
    return blocks


@pytest.mark.parametrize("columns", [80, 60])
def test_show_fits_a_wide_kernel_to_the_terminal(columns: int) -> None:
    code, out, _ = run("show", "gaussian:sigma=2", columns=columns)
    assert code == 0
    matrix = (out[:out.index("Gaussian blur")]
              + out[out.index("  column    ["):out.index("as applied")])
    assert max(len(line) for line in matrix.splitlines()) <= columns
    if columns == 80:  # the properties too
        assert max(len(line) for line in out.splitlines()) <= columns
    code, js, _ = run("show", "gaussian:sigma=2", "--json")
    kernel = np.array(json.loads(js)["kernel"])
    blocks = _blocks(out)
    assert len(blocks) > 1 and [j for cols, _ in blocks for j in cols] == list(range(17))
    for cols, rows in blocks:  # every number, in its place, to six digits
        np.testing.assert_allclose(np.array(rows), kernel[:, cols.start:cols.stop], rtol=5e-6)
    assert "of 17 (0-based)" in out
    factors = out[out.index("  column    ["):out.index("as applied")]
    assert factors.count("6.69163e-05") == 4 and "(kernel = column x row)" in factors


def test_show_prints_a_kernel_that_fits_in_one_piece() -> None:
    code, out, _ = run("show", "gaussian:sigma=2", columns=250)
    assert code == 0 and "columns" not in out
    first = out.splitlines()[1].split()
    assert first[0] == "4.47779e-09" and len(first) == 17


# -- filters: descriptions wrapped, never cut ---------------------------------------------------
def test_filters_wraps_descriptions_instead_of_cutting_them() -> None:
    from imgconv.kernels import GENERATORS, shipped_filters

    code, out, _ = run("filters", columns=80)
    assert code == 0 and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    shipped, generators = out.split("Generators (use with")
    for table, rows in ((shipped, {k.name: k.description for k in shipped_filters()}),
                        (generators, {n: g.description for n, g in GENERATORS.items()})):
        described: dict[str, str] = {}
        name = ""
        for line in table.splitlines():
            cells = [c.strip() for c in line.split("│")[1:-1]]
            if len(cells) < 3:
                continue
            name = cells[0] or name
            described[name] = described.get(name, "") + "".join(cells[-1].split())
        # every character of every description, in order (the breaks are the table's)
        assert described == {n: "".join(d.split()) for n, d in rows.items()}


def test_braces_in_names_the_user_chose_are_never_read_as_flags(tmp_path: Path) -> None:
    """A file or filter named with a parameter in braces (``x{fmt}.png``, ``k{offset}.yaml``)
    is printed as it is named, in messages that mention that very parameter."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "s.png")
    (tmp_path / "k{offset}.yaml").write_text("kernel: [[1]]\noffset: 5\n")
    runner = CliRunner()
    r = runner.invoke(app, ["apply", str(tmp_path / "s.png"), "-f", "box3", "-o",
                            str(tmp_path / "x{fmt}.png"), "--format", "jpg"])
    assert r.exit_code == 2 and "or name the output x{fmt}.jpg" in r.output
    r = runner.invoke(app, ["compose", str(tmp_path / "k{offset}.yaml"), "box3"])
    assert r.exit_code == 2 and f"{tmp_path / 'k{offset}.yaml'}: the filter has an offset" \
        in r.output and "--offset" in r.output  # the real mention is still a flag
    r = runner.invoke(app, ["diff", str(tmp_path / "s.png"), "-f", "box3", "--a", "x{a}"])
    assert r.exit_code == 2 and "'x{a}' is not key=value" in r.output
