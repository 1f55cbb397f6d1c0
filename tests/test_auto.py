"""``auto`` (issue 20): tiny work is ``direct`` and exact on integers; the cost model's
constants are measured once per machine and cached (``IMGCONV_CACHE``), a damaged, stale
or unwritable cache never matters; what auto learns about a kernel is computed once.

No test here depends on timing: the cache tests replace the measurement with a fake one,
the model tests use the fixed constants, and the one real measurement is only checked
for sane values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

from imgconv.engine import calibrate, choose, correlate, filter_array
from imgconv.errors import SettingError
from imgconv.kernels import Kernel
from imgconv.kernels import kernel as kernel_module

#: integer weights of rank 2 (two outer products): lowrank applies, 2·(7 + 7) < 49
RANK2 = np.array([[31, 22, 9, 26, 80, 35, -5], [24, 18, 12, 24, 66, 30, 0],
                  [23, 16, 5, 18, 58, 25, -5], [18, 11, -4, 8, 39, 15, -10],
                  [18, 11, -4, 8, 39, 15, -10], [25, 10, -33, -10, 32, 5, -35],
                  [10, 5, -8, 0, 17, 5, -10]], dtype=np.float64)
FAKE = replace(calibrate.DEFAULTS["float32"], direct0=0.123)  # what the fake measurement says
FAKE_FFT = calibrate.FftCosts(fft=0.5, call_fft=7.0)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test here measures, if at all, into a folder of its own (never the user's)."""
    monkeypatch.setenv(calibrate.CACHE_VAR, str(tmp_path_factory.mktemp("imgconv-cache")))
    calibrate.forget()
    yield
    calibrate.forget()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """A private cache folder, nothing remembered, and measurements that are fake (and
    counted): no test waits for a real one."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(calibrate.CACHE_VAR, str(folder))
    monkeypatch.delenv(calibrate.SWITCH_VAR, raising=False)
    state = SimpleNamespace(folder=folder, file=folder / calibrate.FILE_NAME, calls=[],
                            fft_calls=[])

    def fake(dtype: np.dtype[np.floating]) -> calibrate.Costs:
        state.calls.append(np.dtype(dtype).name)
        return FAKE

    def fake_fft(dtype: np.dtype[np.floating], base: calibrate.Costs) -> calibrate.FftCosts:
        state.fft_calls.append(base)
        return FAKE_FFT

    monkeypatch.setattr(calibrate, "measure", fake)
    monkeypatch.setattr(calibrate, "measure_fft", fake_fft)
    calibrate.forget()
    yield state
    calibrate.forget()


# -- tiny work ---------------------------------------------------------------------------


def test_tiny_integer_work_is_direct_and_exact() -> None:
    """A 10×3 integer image and a rank-2 integer kernel: lowrank's SVD passes give
    298460.9999999999 where the sum is 298461 (the previous auto chose lowrank here, as
    scipy's own test suite noticed); auto takes direct, exact."""
    img = np.arange(30, dtype=np.float64).reshape(10, 3) * 101 + 7
    exact = ndi.correlate(img, RANK2, mode="reflect")  # small integers: exact in float64
    assert np.array_equal(exact, np.round(exact))
    lowrank, used = filter_array(img, RANK2, mode="correlate", method="lowrank")
    assert used == "lowrank" and not np.array_equal(lowrank, exact)  # what auto must avoid
    out, used = filter_array(img, RANK2, mode="correlate")
    assert used == "direct"
    assert np.array_equal(out, exact)
    for precision in ("single", "double"):  # every value well inside 2**24
        assert np.array_equal(correlate(img.astype(np.int32), RANK2, precision=precision), exact)


@pytest.mark.parametrize("shape", [(10, 3), (63, 63), (64, 64), (1, 4000)])
def test_tiny_work_is_direct_whatever_the_constants(shape: tuple[int, int]) -> None:
    k = Kernel(RANK2)
    problem = choose.Problem(shape, (shape[0] + 6, shape[1] + 6), k.shape, 1,
                             np.dtype(np.float64), k)
    assert problem.work <= choose.TINY_WORK
    # constants that make direct look absurdly expensive still do not move tiny work
    slow = replace(calibrate.DEFAULTS["float64"], direct0=1e6, direct_tap=1e6)
    assert choose.pick(problem, lambda m: choose.Route("opencv", True), slow) == "direct"


# -- the cost model (fixed constants: deterministic) -------------------------------------


def _pick(kernel: np.ndarray, shape: tuple[int, int] = (2048, 2048), *,
          backend: str = "opencv", native: bool = True) -> str:
    k = Kernel(kernel)
    kh, kw = k.shape
    problem = choose.Problem(shape, (shape[0] + kh - 1, shape[1] + kw - 1), k.shape, 1,
                             np.dtype(np.float32), k)
    return choose.pick(problem, lambda m: choose.Route(backend, native),
                       calibrate.DEFAULTS["float32"], calibrate.FFT_DEFAULTS["float32"])


def _gauss(sigma: float, radius: int) -> np.ndarray:
    g = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma * sigma))
    return g / g.sum()


def test_the_model_ranks_the_bench_classes() -> None:
    rng = np.random.default_rng(6)
    a, b, g = _gauss(2, 15), _gauss(4, 15), _gauss(3.75, 15)
    assert _pick(rng.random((3, 3))) == "direct"
    assert _pick(rng.random((31, 31))) == "fft"
    assert _pick(rng.random((101, 101))) == "fft"
    assert _pick(np.outer(g, g)) == "separable"
    assert _pick(np.outer(a, a) - np.outer(b, b)) == "lowrank"
    # without OpenCV (more than 512 channels, say) direct is numpy's loop of taps
    assert _pick(rng.random((9, 9)), backend="numpy", native=False) == "fft"


def test_symmetric_factors_make_separable_passes_cheaper() -> None:
    """OpenCV halves the multiplications of a factor equal to its mirror image (centred
    anchor): the model knows it, and only on OpenCV's own border (the valid path runs
    with the anchor in a corner)."""
    g = _gauss(3.75, 15)
    rng = np.random.default_rng(1)
    sym, asym = Kernel(np.outer(g, g)), Kernel(np.outer(rng.random(31), rng.random(31)))
    c = calibrate.DEFAULTS["float32"]

    def cost(k: Kernel, native: bool) -> float:
        p = choose.Problem((512, 512), (542, 542), k.shape, 1, np.dtype(np.float32), k)
        return choose.costs(p, lambda m: choose.Route("opencv", native), c)["separable"]

    assert cost(sym, True) < cost(asym, True)
    assert cost(sym, False) == pytest.approx(cost(asym, False))


def test_the_shape_only_entry_still_answers() -> None:
    """``choose(out, padded, kshape, channels, dtype, rank)`` (the matching code's): ranks
    by the same model, from shapes alone."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(calibrate.SWITCH_VAR, "off")
        assert choose.choose((2048, 2048), (2148, 2148), (101, 101), 1, np.float64) == "fft"
        assert choose.choose((2048, 2048), (2050, 2050), (3, 3), 1, np.float32) == "direct"
        assert choose.choose((2048, 2048), (2078, 2078), (31, 31), 1, np.float32,
                             rank=1) == "separable"
        assert choose.choose((8, 8), (10, 10), (3, 3), 1) == "direct"  # tiny


def test_dft_tiles_follow_opencv() -> None:
    for n in (1, 7, 97, 255, 257, 555, 1000, 2049, 4097):
        assert calibrate.optimal_dft_size(n) == cv2.getOptimalDFTSize(n)
    assert calibrate.dft_tiles((2048, 2048), (15, 15)) == (81, 242 * 242, 16.0)
    tiles, area, _ = calibrate.dft_tiles((40, 40), (21, 21))  # one tile, the whole output
    assert (tiles, area) == (1, 1600)


# -- the cache -----------------------------------------------------------------------------


def test_measured_once_then_read_from_the_cache(cache: SimpleNamespace) -> None:
    assert calibrate.costs(np.float32) == FAKE
    assert cache.calls == ["float32"]
    data = json.loads(cache.file.read_text())
    assert data["format"] == calibrate.FORMAT and list(data["groups"]) == ["float32"]
    key = data["key"]
    assert key["cpus"] and key["numpy"] == np.__version__ and key["opencv"] == cv2.__version__
    assert key["imgconv"] and key["scipy"] and key["cpu"]
    calibrate.forget()  # as a new process
    assert calibrate.costs(np.float32) == FAKE
    assert cache.calls == ["float32"]
    assert list(cache.folder.iterdir()) == [cache.file]  # no temporary left


def test_each_dtype_and_group_is_measured_when_first_needed(cache: SimpleNamespace) -> None:
    assert calibrate.fft_costs(np.float64) == FAKE_FFT
    assert cache.calls == ["float64"] and cache.fft_calls == [FAKE]  # its scale first
    calibrate.costs(np.float32)
    calibrate.forget()
    calibrate.costs(np.float64), calibrate.costs(np.float32), calibrate.fft_costs(np.float64)
    assert cache.calls == ["float64", "float32"] and len(cache.fft_calls) == 1
    groups = json.loads(cache.file.read_text())["groups"]
    assert sorted(groups) == ["float32", "float64", "float64 fft"]


@pytest.mark.parametrize("content", [
    b"", b"{not json", b"\xff\xfe\x00", b"[]", b'{"format": 1, "groups": []}',
    b'{"format": 999, "key": {}, "groups": {}}',
])
def test_a_damaged_cache_is_ignored_and_rewritten(cache: SimpleNamespace,
                                                  content: bytes) -> None:
    cache.folder.mkdir()
    cache.file.write_bytes(content)
    assert calibrate.costs(np.float32) == FAKE
    assert cache.calls == ["float32"]
    assert json.loads(cache.file.read_text())["format"] == calibrate.FORMAT


def _store(cache: SimpleNamespace, key: dict[str, object], groups: dict[str, object]) -> None:
    cache.folder.mkdir(exist_ok=True)
    cache.file.write_text(json.dumps({"format": calibrate.FORMAT, "key": key, "groups": groups}))


def test_a_stale_cache_is_measured_again_and_replaced(cache: SimpleNamespace) -> None:
    key = calibrate.machine_key()
    good = asdict(calibrate.DEFAULTS["float64"])
    _store(cache, {**key, "imgconv": "0.0.1"}, {"float32": good, "float64": good})
    assert calibrate.costs(np.float32) == FAKE  # other versions: not these costs
    stored = json.loads(cache.file.read_text())
    assert stored["key"] == key and list(stored["groups"]) == ["float32"]


@pytest.mark.parametrize("bad", [{"add": -1.0}, {"add": float("nan")}, {"add": True},
                                 {"add": "0.1"}, {"extra": 1.0}])
def test_a_damaged_group_is_measured_again(cache: SimpleNamespace,
                                           bad: dict[str, object]) -> None:
    key = calibrate.machine_key()
    good = asdict(calibrate.DEFAULTS["float64"])
    _store(cache, key, {"float32": {**good, **bad}, "float64": good})
    assert calibrate.costs(np.float64) == calibrate.DEFAULTS["float64"]  # read, kept
    assert calibrate.costs(np.float32) == FAKE
    assert cache.calls == ["float32"]
    groups = json.loads(cache.file.read_text())["groups"]
    assert groups["float32"]["direct0"] == FAKE.direct0 and groups["float64"] == good


def test_the_thread_settings_are_not_in_the_key(cache: SimpleNamespace) -> None:
    """One measurement per machine: a batch worker (one thread) reads the same file."""
    from imgconv.engine import set_threads

    calibrate.costs(np.float32)
    try:
        set_threads(1)
        calibrate.forget()
        assert calibrate.costs(np.float32) == FAKE
    finally:
        set_threads(0)
    assert cache.calls == ["float32"]


def test_an_unwritable_cache_means_measuring_once_per_process(
        tmp_path: Path, cache: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(calibrate.CACHE_VAR, str(blocked / "imgconv"))
    assert calibrate.costs(np.float32) == FAKE
    assert calibrate.costs(np.float32) == FAKE
    assert cache.calls == ["float32"]
    assert blocked.read_text() == "not a folder"


def test_a_failed_rename_leaves_no_temporary(cache: SimpleNamespace,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(calibrate.os, "replace", refuse)
    assert calibrate.costs(np.float32) == FAKE
    assert list(cache.folder.iterdir()) == []


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv(calibrate.CACHE_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert calibrate.cache_folder() == tmp_path / "xdg" / "imgconv"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert calibrate.cache_folder() == tmp_path / "home" / ".cache" / "imgconv"
    monkeypatch.setenv(calibrate.CACHE_VAR, str(tmp_path / "own"))
    assert calibrate.cache_folder() == tmp_path / "own"


def test_switched_off_uses_the_fixed_constants(cache: SimpleNamespace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(calibrate.SWITCH_VAR, "off")
    assert calibrate.costs(np.float64) == calibrate.DEFAULTS["float64"]
    assert calibrate.fft_costs(np.float32) == calibrate.FFT_DEFAULTS["float32"]
    assert cache.calls == [] and not cache.folder.exists()
    monkeypatch.setenv(calibrate.SWITCH_VAR, "sometimes")
    with pytest.raises(SettingError, match="IMGCONV_CALIBRATION='sometimes'"):
        calibrate.costs(np.float32)


def test_auto_measures_nothing_for_tiny_work(cache: SimpleNamespace) -> None:
    correlate(np.ones((20, 20)), RANK2)
    assert cache.calls == [] and not cache.folder.exists()
    correlate(np.ones((300, 300), np.float32), np.ones((9, 9)))
    assert cache.calls == ["float32"]


def test_the_real_measurement_gives_sane_constants() -> None:
    """One real measurement of each group (no timing asserted: only that every constant
    is a positive finite number and the symmetric discount a fraction)."""
    for dt in (np.dtype(np.float32), np.dtype(np.float64)):
        c = calibrate.measure(dt)
        values = asdict(c)
        assert all(np.isfinite(v) and v > 0 for v in values.values()), values
        assert 0.3 <= c.sep_sym <= 1.0
        f = calibrate.measure_fft(dt, c)
        assert f.fft > 0 and f.call_fft > 0


# -- what auto learns about a kernel -------------------------------------------------------


def test_a_plain_array_is_decomposed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new Kernel every call (a plain array handed to correlate): the SVD is found by the
    array's content, and the rank test does not run again."""
    calls: list[tuple[int, ...]] = []
    real = np.linalg.svd

    def counting(a: np.ndarray, *args: object, **kwargs: object) -> object:
        calls.append(a.shape)
        return real(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", counting)
    kernel_module._SVDS.clear()
    a, b = _gauss(2, 15), _gauss(4, 15)
    dog = np.outer(a, a) - np.outer(b, b)
    dog32 = dog.astype(np.float32).astype(np.float64)  # other values: its own SVD
    img = np.random.default_rng(3).random((300, 300)).astype(np.float32)
    first = correlate(img, dog), correlate(img, dog32)
    assert calls
    once = len(calls)
    for _ in range(3):
        assert np.array_equal(correlate(img, dog.copy()), first[0])
        assert np.array_equal(correlate(img, dog32.copy()), first[1])
        assert np.array_equal(correlate(img, dog, method="lowrank"), first[0])
    assert len(calls) == once
    assert Kernel(dog).singular_values is Kernel(dog.copy()).singular_values


def test_the_cache_of_decompositions_is_bounded() -> None:
    kernel_module._SVDS.clear()
    rng = np.random.default_rng(4)
    for _ in range(kernel_module._SVDS_MAX + 10):
        Kernel(rng.random((5, 5))).rank  # noqa: B018 - computing it is the point
    assert len(kernel_module._SVDS) == kernel_module._SVDS_MAX
    kept = list(kernel_module._SVDS)
    big = Kernel(rng.random((800, 800)))  # 5 MB: computed, not remembered
    assert big.rank == 800
    assert list(kernel_module._SVDS) == kept


def test_the_svd_runs_on_one_blas_thread_and_restores_it() -> None:
    setter = kernel_module._blas_thread_setter()
    if setter is None:
        pytest.skip("numpy's BLAS is not an OpenBLAS with openblas_set_num_threads_local")

    def current() -> int:
        n = setter(1)
        setter(n)
        return n

    before = current()
    with kernel_module.one_blas_thread():
        inside = current()
    assert inside == 1 and current() == before
    rng = np.random.default_rng(5)  # threads decomposing at once leave the count as it was
    arrays = [rng.random((101, 101)) for _ in range(16)]
    with ThreadPoolExecutor(4) as pool:
        ranks = list(pool.map(lambda a: int(Kernel(a).rank), arrays))
    assert ranks == [101] * 16 and current() == before
