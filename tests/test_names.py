"""Default output names tell filters apart (docs/semantics.md §4, §7; issue 14).

``STEM.FILTER.MODE.EXT``: a generator carries the parameters given (``gaussian-sigma2``), an
inline matrix its shape and 6 hex of the SHA-256 of its canonical text (``k3x3-edaa38``);
shipped filters and files keep their names.  Expected names are written out by hand.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from imgconv.errors import FilterError
from imgconv.kernels import Kernel, as_kernel, load_filter
from imgconv.kernels.kernel import spell_number
from imgconv.outputs import PART_MAX, chain_name, default_name

#: sha256("3x3:1 2 1;2 4 2;1 2 1|scale=1|offset=0|anchor=1,1")[:6], worked out once by hand
BINOMIAL = "k3x3-edaa38"


def name(*specs: str) -> str:
    return chain_name([load_filter(s) for s in specs])


@pytest.mark.parametrize(("spec", "expected"), [
    ("gaussian:sigma=2", "gaussian-sigma2"),
    ("motion:length=15,angle=30", "motion-length15-angle30"),
    ("motion:angle=30,length=15", "motion-angle30-length15"),  # the order given
    ("gaussian:sigma=1.5", "gaussian-sigma1.5"),
    ("gaussian:sigma=0.1", "gaussian-sigma0.1"),
    ("gaussian:sigma=1e-3", "gaussian-sigma0.001"),
    ("gaussian:sigma=1/3", "gaussian-sigma0.3333333333333333"),
    ("gaussian:sigma=2,size=17", "gaussian-sigma2-size17"),  # a default written when given
    ("unsharp:sigma=1,amount=1e20", "unsharp-sigma1-amount1e20"),  # no '+' in an exponent
    ("unsharp:sigma=1,amount=1e-7", "unsharp-sigma1-amount1e-07"),
    ("shift:dx=-1,dy=2", "shift-dx-1-dy2"),
    ("shift:dx=-0", "shift-dx0"),
    ("sobel:axis=Y", "sobel-axisy"),
    ("box", "box"),  # every parameter defaulted: the type alone
    ("box:", "box"),
    ("box:size=3", "box-size3"),
    ("disk:radius=2.5", "disk-radius2.5"),
])
def test_a_generator_carries_the_parameters_given(spec: str, expected: str) -> None:
    assert name(spec) == expected
    assert load_filter(spec).name == spec.partition(":")[0].lower()  # the title is unchanged


@pytest.mark.parametrize("spelling", ["2", "2.0", "2.", "+2", "20e-1", "4/2", " 2 ", "2.000"])
def test_one_value_one_spelling(spelling: str) -> None:
    assert name(f"gaussian:sigma={spelling}") == "gaussian-sigma2"
    assert name(f"GAUSSIAN:SIGMA={spelling}") == "gaussian-sigma2"


def test_spell_number() -> None:
    assert [spell_number(x) for x in (2.0, -0.0, 1.5, -3.0, 1e16, 1e20, 1e-5, 0.1 + 0.2)] == [
        "2", "0", "1.5", "-3", "1e16", "1e20", "1e-05", "0.30000000000000004"]


def test_an_inline_matrix_carries_its_shape_and_a_hash() -> None:
    canonical = "3x3:1 2 1;2 4 2;1 2 1|scale=1|offset=0|anchor=1,1"
    k = load_filter("1 2 1; 2 4 2; 1 2 1")
    assert k.canonical_text == canonical
    assert "k3x3-" + hashlib.sha256(canonical.encode()).hexdigest()[:6] == BINOMIAL
    assert name("1 2 1; 2 4 2; 1 2 1") == BINOMIAL
    assert k.name == "inline"  # show, --json and reports keep the title
    # the same values however written: one name
    assert name("1,2,1;2,4,2;1,2,1") == name("1.0 2 1; 4/2 4 2; 1 2 1e0") == BINOMIAL
    assert name("0 -0 0") == name("0 0 0") == "k1x3-" + hashlib.sha256(
        b"1x3:0 0 0|scale=1|offset=0|anchor=0,1").hexdigest()[:6]
    # transposed, other values, other shapes: other names
    assert name("1 2 1") != name("1; 2; 1")
    assert name("1 2 1").startswith("k1x3-") and name("1; 2; 1").startswith("k3x1-")
    assert name("1 2 1; 2 4 2; 1 2 2") != BINOMIAL


def test_an_array_is_named_like_an_inline_matrix() -> None:
    assert chain_name([as_kernel(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]))]) == BINOMIAL


def test_scale_offset_and_anchor_are_in_the_hash() -> None:
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    base = Kernel(w, name="inline", meta={"format": "inline"})
    others = [Kernel(w, scale=0.5, name="inline", meta={"format": "inline"}),
              Kernel(w, offset=1, name="inline", meta={"format": "inline"}),
              Kernel(w, anchor=(0, 0), name="inline", meta={"format": "inline"})]
    names = {chain_name([k]) for k in [base, *others]}
    assert len(names) == 4 and all(n.startswith("k2x2-") for n in names)
    # the default anchor written out is the same kernel
    same = Kernel(w, anchor=(1, 1), name="inline", meta={"format": "inline"})
    assert chain_name([same]) == chain_name([base])


def test_shipped_filters_and_files_keep_their_names(tmp_path: Path) -> None:
    assert name("gaussian5") == "gaussian5"
    assert name("sobel-x") == "sobel-x"
    (tmp_path / "myfilter.yaml").write_text("kernel: [[1, 2, 1]]\n")
    (tmp_path / "named.yaml").write_text("name: blur\ngenerator: {type: gaussian, sigma: 2}\n")
    (tmp_path / "gen.yaml").write_text("generator: 'gaussian:sigma=2'\n")
    (tmp_path / "m.txt").write_text("1 2 1\n")
    assert [chain_name([load_filter(tmp_path / f)]) for f in
            ("myfilter.yaml", "named.yaml", "gen.yaml", "m.txt")] == [
        "myfilter", "blur", "gen", "m"]


def test_a_chain_is_joined_by_plus_and_made_safe(tmp_path: Path) -> None:
    assert name("gaussian3", "gaussian:sigma=2", "1 2 1; 2 4 2; 1 2 1") == \
        f"gaussian3+gaussian-sigma2+{BINOMIAL}"
    (tmp_path / "odd.yaml").write_text('name: "a b/c:d"\nkernel: [[1]]\n')
    assert chain_name([load_filter(tmp_path / "odd.yaml")]) == "a_b_c_d"


def test_a_long_part_is_cut_with_a_hash(tmp_path: Path) -> None:
    long = "a" * 150
    (tmp_path / "long.yaml").write_text(f"name: {long}\nkernel: [[1]]\n")
    part = chain_name([load_filter(tmp_path / "long.yaml")])
    assert PART_MAX == 100
    assert part == "a" * 93 + "-" + hashlib.sha256(long.encode()).hexdigest()[:6]
    (tmp_path / "long2.yaml").write_text(f"name: {long}b\nkernel: [[1]]\n")
    other = chain_name([load_filter(tmp_path / "long2.yaml")])
    assert len(other) == 100 and other != part
    exact = "b" * 100  # at the limit: kept
    (tmp_path / "exact.yaml").write_text(f"name: {exact}\nkernel: [[1]]\n")
    assert chain_name([load_filter(tmp_path / "exact.yaml")]) == exact


def test_the_whole_name_stays_within_name_max() -> None:
    src = Path("d") / ("p" * 150 + ".PNG")
    chain = "+".join(["gaussian-sigma2"] * 10)  # 159 bytes
    got = default_name(src, chain, "convolve")
    assert len(got) == 255
    assert got == "p" * 150 + "." + chain[:84] + "-" + \
        hashlib.sha256(chain.encode()).hexdigest()[:6] + ".convolve.png"
    assert default_name(src, chain + "+box", "convolve") != got
    short = default_name(src, "box3", "convolve")
    assert short == "p" * 150 + ".box3.convolve.png"
    # a stem with no room for any chain is left as it is (check_name refuses it)
    huge = Path("q" * 250 + ".png")
    assert default_name(huge, chain, "convolve") == f"{huge.stem}.{chain}.convolve.png"
    # the limit counts bytes: a non-ASCII stem
    uni = Path("é" * 100 + ".png")  # 200 bytes
    got = default_name(uni, chain, "correlate")
    assert len(got.encode()) == 255 and got.endswith(".correlate.png")


# -- two different chains never share a name ----------------------------------------------
# small pools of values, so that a list of chains often holds near misses (one parameter
# apart, the same value spelled twice), with a float now and then
_ODD = st.sampled_from([1, 3, 5, 9])
_SIGMA = st.one_of(st.sampled_from(["0.5", "1", "1.0", "1/2", "1.5", "2"]), st.floats(0.2, 3))
_INT = st.sampled_from([1, 2, 3, 5])
_PARAMS: dict[str, tuple[tuple[str, ...], dict[str, st.SearchStrategy[object]]]] = {
    "gaussian": (("sigma",), {"sigma": _SIGMA, "size": _ODD}),
    "log": (("sigma",), {"sigma": _SIGMA, "size": _ODD}),
    "unsharp": (("sigma",), {"sigma": _SIGMA, "amount": st.sampled_from(["-1", "0.5", "2"]),
                             "size": _ODD}),
    "box": ((), {"size": _INT, "width": _INT, "height": _INT}),
    "disk": (("radius",), {"radius": st.sampled_from(["1", "1.5", "2", "2.5"])}),
    "motion": (("length",), {"length": _INT, "angle": st.one_of(
        st.sampled_from(["0", "30", "-30", "45", "90"]), st.floats(-360, 360))}),
    "identity": ((), {"size": _ODD}),
    "shift": ((), {"dx": st.integers(-2, 2), "dy": st.integers(-2, 2)}),
    "sobel": ((), {"axis": st.sampled_from(["x", "y"])}),
    "scharr": ((), {"axis": st.sampled_from(["x", "y"])}),
}


@st.composite
def generator_params(draw: st.DrawFn) -> tuple[str, list[tuple[str, object]]]:
    """A generator and its parameters as given, in order."""
    gen = draw(st.sampled_from(sorted(_PARAMS)))
    required, params = _PARAMS[gen]
    optional = [k for k in params if k not in required]
    keys = list(required) + (draw(st.lists(st.sampled_from(optional), unique=True))
                             if optional else [])
    keys = draw(st.permutations(keys))
    return gen, [(k, draw(params[k])) for k in keys]


def spec_text(gen: str, params: list[tuple[str, object]]) -> str:
    return f"{gen}:" + ",".join(f"{k}={v}" for k, v in params)


def generator_spec() -> st.SearchStrategy[str]:
    return generator_params().map(lambda gp: spec_text(*gp))


_VALUE = st.one_of(st.integers(-1, 2), st.sampled_from(["1/2", "-1/4", "0.5", "1e-3", "2.0"]))


@st.composite
def inline_spec(draw: st.DrawFn) -> str:
    rows, cols = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return "; ".join(" ".join(str(draw(_VALUE)) for _ in range(cols)) for _ in range(rows))


_CHAIN = st.lists(st.one_of(generator_spec(), inline_spec()), min_size=1, max_size=3)


def _load(spec: str) -> Kernel:
    """The kernel of a drawn spec; a spec the generator refuses (a 1x1 all-zero LoG) is
    not an example."""
    try:
        return load_filter(spec)
    except FilterError:
        assume(False)
        raise


def _identity(kernels: list[Kernel]) -> tuple[tuple[str, str], ...]:
    """What a chain computes, kernel by kernel (weights, scale, offset, anchor)."""
    return tuple((k.canonical_text, str(k.meta.get("format", ""))) for k in kernels)


@settings(max_examples=150, deadline=None)
@given(st.lists(_CHAIN, min_size=2, max_size=10))
def test_different_chains_never_share_a_default_name(chains: list[list[str]]) -> None:
    seen: dict[str, tuple[tuple[str, str], ...]] = {}
    for specs in chains:
        kernels = [_load(s) for s in specs]
        got = default_name(Path("photo.png"), chain_name(kernels), "convolve")
        assert got.startswith("photo.") and got.endswith(".convolve.png")
        assert seen.setdefault(got, _identity(kernels)) == _identity(kernels), got


@settings(max_examples=300, deadline=None)
@given(generator_params(), st.data())
def test_one_parameter_apart_is_another_name(gp: tuple[str, list[tuple[str, object]]],
                                              data: st.DataObject) -> None:
    gen, params = gp
    assume(params)
    i = data.draw(st.integers(0, len(params) - 1))
    key = params[i][0]
    other = [*params[:i], (key, data.draw(_PARAMS[gen][1][key])), *params[i + 1:]]
    a, b = _load(spec_text(gen, params)), _load(spec_text(gen, other))
    if a.canonical_text != b.canonical_text:
        assert chain_name([a]) != chain_name([b])


@settings(max_examples=100, deadline=None)
@given(generator_spec())
def test_a_respelled_value_keeps_the_name(spec: str) -> None:
    gen, _, rest = spec.partition(":")
    assume(rest)  # a generator with parameters: there is a value to respell
    before = chain_name([_load(spec)])
    respelled = ",".join(f"{k}={v}.0" if v.lstrip("-").isdigit() else f"{k}={v}"
                         for k, _, v in (p.partition("=") for p in rest.split(",")))
    assert name(f"{gen}:{respelled}") == before


# -- the command line ------------------------------------------------------------------------
def test_a_sweep_writes_one_file_per_setting(tmp_path: Path, cli: SimpleNamespace) -> None:
    src = tmp_path / "photo.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(src)
    for spec in ("gaussian:sigma=2", "gaussian:sigma=5", "1 2 1; 2 4 2; 1 2 1", "gaussian3"):
        cli.ok("apply", src, "-f", spec, "-q")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "photo.gaussian-sigma2.convolve.png", "photo.gaussian-sigma5.convolve.png",
        "photo.gaussian3.convolve.png", f"photo.{BINOMIAL}.convolve.png", "photo.png"]
    # the same kernel spelled differently is the same output: refused without --overwrite
    code = cli.run("apply", src, "-f", "gaussian:sigma=2.0", "-q")[0]
    assert code == 2
