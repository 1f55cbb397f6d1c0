"""Rank at the working precision and the ``lowrank`` method (docs/semantics.md §1):
a kernel of numerical rank r as r separable passes from its SVD, within the tolerance of
scipy.ndimage (the oracle); float32 outer products and 8-digit text kernels are
separable in single precision."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import BOUNDARIES

from imgconv.engine import correlate, filter_array
from imgconv.errors import ImgconvError
from imgconv.kernels import Kernel, load_filter


def low_rank_kernel(rank: int, side: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return sum(np.outer(rng.standard_normal(side), rng.standard_normal(side))
               for _ in range(rank))  # type: ignore[return-value]


@settings(max_examples=40, deadline=None)
@given(rank=st.integers(2, 4), side=st.integers(11, 21), seed=st.integers(0, 2**16),
       boundary=st.sampled_from(BOUNDARIES), mode=st.sampled_from(["correlate", "convolve"]),
       size=st.sampled_from(["same", "full", "valid"]), double=st.booleans())
def test_lowrank_equals_the_oracle(ref: SimpleNamespace, rank: int, side: int, seed: int,
                                   boundary: str, mode: str, size: str, double: bool) -> None:
    k = low_rank_kernel(rank, side, seed)
    img = np.random.default_rng(seed + 1).random((40, 37)) * 255
    precision = "double" if double else "single"
    out, used = filter_array(img, k, mode=mode, boundary=boundary, size=size, cval=7.0,
                             method="lowrank", precision=precision)
    assert used == "lowrank"
    want = ref.brute(img, k, op=mode, boundary=boundary, size=size, cval=7.0)
    assert ref.maxdiff(out, want) <= ref.tolerance(k, img, 7.0, precision)


def test_float32_outer_product_is_separable_in_single_precision(ref: SimpleNamespace) -> None:
    g = np.exp(-np.arange(-15, 16) ** 2 / (2 * 3.75**2)).astype(np.float32)
    k32 = np.outer(g / g.sum(), g / g.sum()).astype(np.float32)
    kernel = Kernel(k32)
    assert kernel.rank > 1 and kernel.rank_at(np.float32) == 1  # round-off in double
    img = np.random.default_rng(2).random((300, 280)).astype(np.float32) * 255
    out, used = filter_array(img, kernel, mode="correlate")
    assert used == "separable"
    want = ref.scipy(img, k32.astype(np.float64), op="correlate")
    assert ref.maxdiff(out, want) <= ref.tolerance(k32, img, precision="single")
    with pytest.raises(ImgconvError, match="rank .* in double precision"):
        filter_array(img.astype(np.float64), kernel, method="separable")


def test_gaussian_from_an_8_digit_text_file_is_separable(tmp_path: Path,
                                                         ref: SimpleNamespace) -> None:
    g = ref.gaussian(3.75)
    path = tmp_path / "g31.txt"
    path.write_text("\n".join(" ".join(f"{v:.8g}" for v in row) for row in g))
    kernel = load_filter(str(path))
    assert kernel.rank > 1 and kernel.rank_at(np.float32) == 1
    img = np.random.default_rng(3).random((256, 256)).astype(np.float32) * 255
    out, used = filter_array(img, kernel)
    assert used == "separable"
    want = ref.scipy(img, kernel.array)
    assert ref.maxdiff(out, want) <= ref.tolerance(kernel.array, img, precision="single")


@pytest.mark.parametrize("spec", ["log:sigma=4", "dog"])
def test_auto_picks_lowrank_for_rank_2_31x31_kernels(spec: str, ref: SimpleNamespace) -> None:
    k = Kernel(_dog(), name="dog") if spec == "dog" else load_filter(spec)
    r = k.rank_at(np.float32)
    assert 2 <= r <= 3 and r * 62 < 31 * 31
    img = np.random.default_rng(4).random((512, 512)).astype(np.float32) * 255
    out, used = filter_array(img, k, mode="correlate")
    assert used == "lowrank"
    want = ref.scipy(img, k.array, op="correlate")
    assert ref.maxdiff(out, want) <= ref.tolerance(k.array, img, precision="single")


def _dog() -> np.ndarray:
    """A difference of Gaussians, 31×31 (σ 2 and 4, each summing to 1): rank 2."""
    def g(s: float) -> np.ndarray:
        v = np.exp(-np.arange(-15, 16) ** 2 / (2 * s * s))
        return np.outer(v, v) / np.outer(v, v).sum()
    return g(2.0) - g(4.0)


@pytest.mark.parametrize(("kernel", "why"), [
    (np.outer(np.arange(1.0, 10), np.arange(1.0, 10)), "rank 1"),
    (np.random.default_rng(5).standard_normal((9, 9)), "rank 9"),
    (low_rank_kernel(2, 3, 6), "rank 2"),  # 2·(3+3) = 12 > 9 taps
])
def test_lowrank_refused_where_it_does_not_apply(kernel: np.ndarray, why: str) -> None:
    with pytest.raises(ImgconvError, match=f"method='lowrank' needs .* has {why} in") as info:
        correlate(np.ones((20, 20)), kernel, method="lowrank")
    assert info.value.param == "method"


def test_show_says_how_many_passes(cli: SimpleNamespace) -> None:
    out, _ = cli.ok("show", "log:sigma=4")
    assert "rank 3: 3 separable passes (method lowrank)" in out
    out, _ = cli.ok("show", "sobel-x")
    assert "separable passes" not in out


def test_cli_method_lowrank(cli: SimpleNamespace, tmp_path: Path, ref: SimpleNamespace) -> None:
    img = (np.random.default_rng(8).random((64, 64)) * 200).astype(np.float32)
    src = tmp_path / "in.npy"
    np.save(src, img)
    out, _ = cli.ok("apply", src, "-f", "log:sigma=2", "--method", "lowrank", "--json",
                    "-o", tmp_path / "o.npy")
    assert '"method": "lowrank"' in out
    k = load_filter("log:sigma=2")
    got = np.load(tmp_path / "o.npy")
    assert ref.maxdiff(got, ref.scipy(img, k.array)) <= ref.tolerance(k.array, img,
                                                                    precision="single")
    code, _, err = cli.run("apply", src, "-f", "box3", "--method", "lowrank",
                           "-o", tmp_path / "p.npy")
    assert code == 2 and "--method lowrank needs" in err
