"""diff: statistics against independent computations, predictions, variant specs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from imgconv.compare import compare
from imgconv.diffing import Variant, parse_variant, predict, run_diff
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel, load_filter
from imgconv.options import FilterOptions

rng = np.random.default_rng(21)
PHOTO = (rng.random((48, 40)) * 255).astype(np.uint8)
BASE = Variant()


def diff(img: np.ndarray, k: Kernel, a: str, b: str, dtype: str = "uint8") -> dict:
    va, vb = parse_variant(a, BASE), parse_variant(b, BASE)
    return run_diff(img, [k], va, vb, base=FilterOptions(dtype=dtype)).report.as_dict()


def test_symmetric_kernel_identical_and_predicted() -> None:
    r = diff(PHOTO, load_filter("gaussian5"), "mode=correlate", "mode=convolve")
    assert r["prediction"] == "equal" and r["predicted_equal"] and r["prediction_held"]
    assert r["identical"] and r["differing_pixels"] == 0 and r["bbox"] is None
    assert r["max_abs_diff"] == 0 and r["psnr"] is None and r["psnr_peak"] == 255


def test_asymmetric_kernel_numbers_match_independent_computation() -> None:
    k = load_filter("sobel-x")
    r = diff(PHOTO, k, "mode=correlate", "mode=convolve")
    img = PHOTO.astype(np.float64)
    a = ndi.correlate(img, k.array, mode="reflect")
    b = ndi.convolve(img, k.array, mode="reflect")
    assert r["prediction"] == "different" and r["prediction_held"]
    assert r["max_abs_diff"] == pytest.approx(np.abs(a - b).max(), rel=1e-5)
    assert r["rmse"] == pytest.approx(np.sqrt(np.mean((a - b) ** 2)), rel=1e-5)
    qa = np.clip(np.rint(a), 0, 255)
    qb = np.clip(np.rint(b), 0, 255)
    # float32 computation may put a value on the other side of .5: allow a handful
    assert abs(r["differing_pixels"] - int((qa != qb).sum())) <= 3
    assert r["psnr"] == pytest.approx(10 * np.log10(255**2 / np.mean((a - b) ** 2)), rel=1e-4)


def test_bbox_is_exact_on_a_synthetic_image() -> None:
    img = np.zeros((40, 50), dtype=np.uint8)
    img[10:13, 20:26] = 200  # a small bright block; shift kernels move it differently
    k = Kernel(np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=float), name="shift")
    r = diff(img, k, "mode=correlate", "mode=convolve")
    # correlate moves the block (cols 20..25) one pixel left (19..24), convolve one pixel
    # right (21..26): they differ in columns 19, 20, 25 and 26 of rows 10..12
    assert r["bbox"] == [10, 19, 13, 27]
    assert r["differing_pixels"] == 3 * 4
    a = ndi.correlate(img.astype(float), k.array, mode="reflect")
    b = ndi.convolve(img.astype(float), k.array, mode="reflect")
    ys, xs = np.nonzero(a != b)
    assert [ys.min(), xs.min(), ys.max() + 1, xs.max() + 1] == r["bbox"]
    assert r["differing_pixels"] == int((a != b).sum())


def test_method_only_is_round_off() -> None:
    k = Kernel(rng.standard_normal((15, 15)), name="rand15")
    r = diff(PHOTO, k, "method=direct", "method=fft", dtype="float32")
    assert r["prediction"] == "equal" and r["prediction_held"]
    assert 0 < r["max_abs_diff"] <= r["tolerance"]
    assert r["a"]["method_used"] == "direct" and r["b"]["method_used"] == "fft"


def test_boundary_only_differs_in_the_border_frame() -> None:
    k = load_filter("emboss")
    r = diff(PHOTO, k, "boundary=reflect", "boundary=wrap")
    assert r["prediction"] == "border only" and r["prediction_held"]
    assert r["interior"]["differing_pixels"] == 0 and r["interior"]["max_abs_diff"] == 0
    assert r["border"]["differing_pixels"] > 0
    h, w = PHOTO.shape
    assert r["interior"]["pixels"] == (h - 2) * (w - 2)


def test_compare_float_uses_tolerance() -> None:
    a = np.zeros((4, 4))
    b = a.copy()
    b[1, 2] = 1e-7
    b[3, 0] = 1.0
    r = compare(a, b, dtype="float64", tolerance=1e-6)
    assert r["differing_pixels"] == 1 and r["bbox"] == [3, 0, 4, 1]
    assert r["psnr_peak"] == 1.0


@pytest.mark.parametrize(
    ("a", "b", "kernel", "expected"),
    [
        ("mode=correlate", "mode=convolve", "box3", "equal"),
        ("mode=correlate", "mode=convolve", "diff-2x2", "different"),  # even: shifted
        ("method=fft", "method=direct", "sobel-x", "equal"),
        ("precision=single", "precision=double", "sobel-x", "equal"),
        ("boundary=nearest,cval=3", "boundary=nearest,cval=9", "sobel-x", "equal"),
        ("boundary=constant,cval=3", "boundary=constant,cval=9", "sobel-x", "border only"),
        ("mode=correlate,boundary=wrap", "mode=convolve", "box3", "border only"),
        ("mode=correlate,boundary=wrap", "mode=convolve", "sobel-x", "different"),
    ],
)
def test_prediction_table(a: str, b: str, kernel: str, expected: str) -> None:
    pred, reason = predict(parse_variant(a, BASE), parse_variant(b, BASE), [load_filter(kernel)])
    assert pred == expected and reason


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("mode", "key=value"), ("color=red", "unknown key"), ("mode=sideways", "mode="),
     ("boundary=bounce", "boundary"), ("cval=abc", "cval"), ("mode=correlate,mode=convolve",
                                                             "twice"), ("cval=nan", "finite")],
)
def test_bad_variant_specs(spec: str, needle: str) -> None:
    with pytest.raises(ImgconvError, match=needle):
        parse_variant(spec, BASE, "a")


@pytest.mark.parametrize(("spec", "said"), [
    ("methd=fft", "unknown key 'methd' (did you mean 'method'?): use mode, method, boundary, "
                  "cval, precision, size, or filter=F+G (last)"),
    ("filtr=box3", "(did you mean 'filter'?)"),
    ("filter=box3,boundary=wrap", "filter= must come last (the filter chain after it may "
                                  "hold commas), so boundary= was read as part of the filter: "
                                  "write boundary=wrap,filter=box3"),
    ("mode=correlate,filter=box3+sobel-x,cval=2", "write mode=correlate,cval=2,"
                                                  "filter=box3+sobel-x"),
    ("filter=gaussian:sigma=2,size=7,boundary=wrap", "write boundary=wrap,"
                                                     "filter=gaussian:sigma=2,size=7"),
])
def test_variant_errors_say_what_to_write(spec: str, said: str) -> None:
    with pytest.raises(ImgconvError) as info:
        parse_variant(spec, BASE, "a")
    assert str(info.value).startswith(f"a={spec!r}: ") and said in str(info.value)


def test_a_filter_spec_with_its_own_size_still_parses() -> None:
    """The generator's size= after filter= is the generator's, not the variant's."""
    v = parse_variant("mode=correlate,filter=gaussian:sigma=2,size=7", BASE, "a")
    assert v.filters == ("gaussian:sigma=2,size=7",) and v.size == "same"


def test_a_cval_no_boundary_uses_is_said_in_the_reason() -> None:
    pred, reason = predict(parse_variant("cval=3", BASE), BASE, [load_filter("box3")])
    assert pred == "equal"
    assert reason == ("the two variants are the same; cval differs (3 vs 0), but "
                      "boundary=reflect does not use it")
    pred, reason = predict(BASE, BASE, [load_filter("box3")])
    assert reason == "the two variants are the same"


def test_different_sizes_refused() -> None:
    with pytest.raises(ImgconvError, match="size"):
        predict(parse_variant("size=full", BASE), BASE, [load_filter("box3")])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_variant_parser_fuzz(text: str) -> None:
    """Any text parses or is refused by an ImgconvError naming the option; nothing else."""
    try:
        parse_variant(text, BASE, "b")
    except ImgconvError as exc:
        assert str(exc).startswith("b=") and exc.param == "b", str(exc)


# spellings of each key's values and what they mean (docs/semantics.md §1, §4); None: refused
SPELLINGS: dict[str, list[tuple[str, object]]] = {
    "mode": [("correlate", "correlate"), (" CONVOLVE ", "convolve"), ("sideways", None)],
    "method": [("fft", "fft"), ("Direct", "direct"), ("separable", "separable"),
               ("slow", None)],
    "boundary": [("bounce", None)],  # + every name and alias of the table, below
    "cval": [("3", 3.0), ("-1.5e2", -150.0), ("nan", None), ("abc", None)],
    "precision": [("single", "single"), ("DOUBLE", "double"), ("half", None)],
    "size": [("full", "full"), ("valid", "valid"), ("Same", "same"), ("big", None)],
}


def _pairs(table: dict[str, dict[str, object]]) -> list[tuple[str, str, object]]:
    pairs = [(k, v, means) for k, spellings in SPELLINGS.items() for v, means in spellings]
    for name, row in table.items():
        aliases = (name, *row["aliases"])  # type: ignore[misc]
        pairs += [("boundary", alias.upper(), name) for alias in aliases]
    return pairs


@settings(max_examples=300, deadline=None)
@given(data=st.data(), mode_key=st.sampled_from(["mode", " Mode "]))
def test_variant_parser_against_the_spellings(data: st.DataObject, mode_key: str,
                                              ref: SimpleNamespace) -> None:
    """``key=value,...`` means what the table of spellings says, or the first bad part is
    named (a key given twice, a value refused)."""
    pairs = data.draw(st.lists(st.sampled_from(_pairs(ref.table)), max_size=4))
    text = ",".join(f"{mode_key if k == 'mode' else k}={v}" for k, v, _ in pairs)
    expect: dict[str, object] = {}
    problem = None  # what the message must quote: the key given twice, or the bad value
    for key, value, means in pairs:
        if key in expect:
            problem = f"{key!r} is given twice"
        elif means is None:
            problem = repr(value.strip())  # quoted: only the message's own part has it
        if problem:
            break
        expect[key] = means
    if problem is None:
        assert parse_variant(text, BASE) == Variant(FilterOptions(**expect))  # type: ignore[arg-type]
    else:
        with pytest.raises(ImgconvError) as info:
            parse_variant(text, BASE)
        assert problem in str(info.value)


@pytest.mark.parametrize(("boundary", "size", "expected"), [
    ("wrap", "same", "equal"), ("constant", "full", "equal"), ("reflect", "valid", "equal"),
    ("reflect", "same", "border only"), ("mirror", "same", "border only"),
])
def test_variant_filter_chain_vs_composed(tmp_path, boundary: str, size: str,
                                          expected: str) -> None:
    from imgconv.algebra import compose
    from imgconv.kernels import kernel_to_yaml

    f, g = load_filter("sobel-x"), Kernel(rng.standard_normal((2, 4)), name="g")
    np.save(tmp_path / "g.npy", g.weights)
    composed = tmp_path / "fg.yaml"
    composed.write_text(kernel_to_yaml(compose([f, load_filter(str(tmp_path / "g.npy"))])))
    base = Variant(FilterOptions(boundary=boundary, size=size))
    va = parse_variant(f"mode=convolve,filter=sobel-x+{tmp_path / 'g.npy'}", base)
    vb = parse_variant(f"filter={composed}", base)
    img = (rng.random((30, 26)) * 255).astype(np.uint8)
    r = run_diff(img, [], va, vb, base=FilterOptions(dtype="float64")).report.as_dict()
    assert r["prediction"] == expected and r["prediction_held"], r["reason"]
    if expected == "border only":
        assert r["border"]["max_abs_diff"] > 0
    assert r["a"]["filters"] == ["sobel-x", "g"] and r["b"]["filters"] == ["sobel-x+g"]


@pytest.mark.parametrize("size", ["full", "valid"])
def test_even_symmetric_kernel_is_equal_without_an_anchor(size: str) -> None:
    """The anchor plays no part in full/valid output: a symmetric 2x2 box is mode-free."""
    k = Kernel(np.ones((2, 2)), name="box2")
    base = Variant(FilterOptions(size=size))
    va, vb = parse_variant("mode=correlate", base), parse_variant("mode=convolve", base)
    r = run_diff(PHOTO, [k], va, vb,
                 base=FilterOptions(size=size, dtype="uint8")).report.as_dict()
    assert r["prediction"] == "equal" and r["prediction_held"] and r["identical"]
    valid = Variant(FilterOptions(size="valid"))
    vr, vw = parse_variant("boundary=reflect", valid), parse_variant("boundary=wrap", valid)
    assert predict(vr, vw, [k])[0] == "equal"  # valid never reads beyond the edge


def test_normalize_applies_to_a_variant_chain() -> None:
    k = Kernel(np.array([[1.0, 2.0, 1.0]]), name="121")
    va = parse_variant("filter=1 2 1", BASE)
    vb = parse_variant("mode=convolve", BASE)
    r = run_diff(PHOTO, [k], va, vb,
                 base=FilterOptions(normalize=True, dtype="float64")).report.as_dict()
    assert r["prediction"] == "equal" and r["max_abs_diff"] <= r["tolerance"]
