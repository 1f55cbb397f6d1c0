"""What each method costs on *this* machine: a short measurement, cached per machine.

``auto`` ranks methods by a cost model (:mod:`imgconv.engine.choose`) whose constants are
measured here, not assumed (:class:`Costs`): one spatial ``filter2D`` call per sample
(fixed part and per tap) and its blocks for larger kernels, ``sepFilter2D`` (fixed, per
tap, the discount of an exactly symmetric factor), a pass adding two images, an
extension by the boundary mode, OpenCV's DFT filter per sample of its tiles (256² and
576² tiles), and the fixed price of each call; scipy.fft per ``N·log2 N`` apart
(:class:`FftCosts`), only when a numpy FFT must be ranked (importing scipy.fft alone
takes ~0.2 s, and most runs never need it).

:func:`measure` times the backends' own functions on a 1024×1024 image of the working
dtype (from that size on OpenCV uses every core) and on a 16×16 one (the fixed prices),
in rounds that run every job once; rounds go on until one is within 10% of each job's
fastest time or ~0.45 s are spent, and that least disturbed round is kept (one window of
time for every job: a loaded machine slows OpenCV's threads more than a pass over memory,
so each job's own luckiest moment would set methods against each other under different
loads).  Measured on the 2-core development machine at load 3-4: 0.5-0.62 s for float32,
0.6-0.76 s for float64 (its calls' quiet times add up to ~0.2 s); once per machine and
dtype, and only when a plan has something to rank.

The constants are stored in ``calibration.json`` in the user's cache folder
(``$IMGCONV_CACHE``, else ``$XDG_CACHE_HOME/imgconv``, else ``~/.cache/imgconv``) with
their key: the CPU, its cores and the versions of Python, numpy, scipy, OpenCV and
imgconv (:func:`machine_key`); written atomically (a temporary file renamed over it).  A
file that is stale, damaged or unreadable is ignored and rewritten; a folder that cannot
be written means measuring once per process.  ``IMGCONV_CALIBRATION=off`` uses the fixed
:data:`DEFAULTS` (quiet measurements of the development machine) and touches no file.

Which method runs never changes *what* is computed (docs/semantics.md §1): the
calibration moves speed only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from imgconv.errors import SettingError

FORMAT = 1  # the layout of the cache file and the meaning of its constants
CACHE_VAR = "IMGCONV_CACHE"
SWITCH_VAR = "IMGCONV_CALIBRATION"
FILE_NAME = "calibration.json"
SIDE = 1024  # the measuring image: 2**20 samples, where OpenCV goes parallel
TINY = 16  # the image that measures the fixed price of a call
RUNS = 3  # rounds of runs at least (the first one included)
MAX_RUNS = 12  # rounds at most
SETTLED = 0.1  # a round within 10% of every job's fastest time: no more rounds
BUDGET = 0.45  # seconds: no further round once the measurement has taken this long


@dataclass(frozen=True)
class Costs:
    """The constants of OpenCV's methods, in nanoseconds: per output sample unless said."""

    direct0: float  # one spatial filter2D call: direct0 + direct_tap * taps
    direct_tap: float
    block: float  # direct in blocks (kernels from OpenCV's DFT size): more a block call
    sep0: float  # sepFilter2D: sep0 + sep_tap * (kh * s_col + kw * s_row)
    sep_tap: float
    sep_sym: float  # s of an exactly symmetric (or antisymmetric) centred factor; else 1
    sep_long: float  # more per tap beyond kh + kw = 62 (the column buffer outgrows the cache)
    add: float  # one pass adding two images (np.add into one of them)
    pad: float  # extending the image by the boundary mode, per sample of the extension
    dft_small: float  # OpenCV's DFT filter per sample of its tiles, 256x256 tiles
    dft_large: float  # the same, 576x576 tiles
    call: float  # the fixed price of one OpenCV filter call
    call_dft: float  # of one DFT filter call
    call_pad: float  # of one extension by the boundary mode


@dataclass(frozen=True)
class FftCosts:
    """The constants of scipy.fft's correlation (the numpy backend), in nanoseconds;
    measured apart, only when they are needed: importing scipy.fft alone takes ~0.2 s."""

    fft: float  # per N*log2(N) of the transform size
    call_fft: float  # the fixed price of one correlation


#: fixed constants (``IMGCONV_CALIBRATION=off``): the quiet 2-core development machine
#: (AMD EPYC, OpenCV 5.1, numpy 2.4, scipy 1.17); float64 from loaded runs, rounded
DEFAULTS: dict[str, Costs] = {
    "float32": Costs(direct0=0.25, direct_tap=0.019, block=0.48, sep0=0.24, sep_tap=0.051,
                     sep_sym=0.55, sep_long=0.03, add=0.15, pad=0.3, dft_small=5.0,
                     dft_large=5.0, call=5e3, call_dft=2.5e4, call_pad=2.5e4),
    "float64": Costs(direct0=0.5, direct_tap=0.05, block=0.5, sep0=0.4, sep_tap=0.11,
                     sep_sym=0.7, sep_long=0.06, add=0.3, pad=0.6, dft_small=9.7,
                     dft_large=8.0, call=5e3, call_dft=2.5e4, call_pad=2.5e4),
}
FFT_DEFAULTS: dict[str, FftCosts] = {
    "float32": FftCosts(fft=0.4, call_fft=5e4),
    "float64": FftCosts(fft=0.8, call_fft=5e4),
}

_memo: dict[tuple[str | None, ...], Any] = {}
_lock = threading.RLock()  # the fft group asks for its base group inside


def switched_off() -> bool:
    """``IMGCONV_CALIBRATION``: ``off`` uses :data:`DEFAULTS`; unset, empty or ``on``
    measures (once per machine); anything else is a :class:`SettingError`."""
    raw = os.environ.get(SWITCH_VAR, "")
    value = raw.strip().lower()
    if value in ("", "on"):
        return False
    if value == "off":
        return True
    raise SettingError(SWITCH_VAR, raw, "is neither 'on' nor 'off': set it to 'off' for the "
                       "fixed cost constants, or unset it to measure them once per machine")


_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def _dtype_name(dtype: Any) -> str:
    return _NAMES.get(np.dtype(dtype), "float32")


def costs(dtype: Any) -> Costs:
    """OpenCV's cost constants for the working ``dtype`` (float32 or float64) on this
    machine: from memory, else from the cache file, else measured (and stored)."""
    name = _dtype_name(dtype)
    if switched_off():
        return DEFAULTS[name]
    found: Costs = _constants(name)
    return found


def fft_costs(dtype: Any) -> FftCosts:
    """scipy.fft's cost constants for the working ``dtype``, as :func:`costs`."""
    name = _dtype_name(dtype)
    if switched_off():
        return FFT_DEFAULTS[name]
    found: FftCosts = _constants(f"{name} fft")
    return found


def _constants(group: str) -> Any:
    env = os.environ
    memo_key = (group, env.get(CACHE_VAR), env.get("XDG_CACHE_HOME"), env.get("HOME"))
    found = _memo.get(memo_key)  # every auto plan asks: no path is built for a hit
    if found is not None:
        return found
    with _lock:  # one measurement at a time, even when threads ask at once
        found = _memo.get(memo_key)
        if found is None:
            found = _memo[memo_key] = _load_or_measure(cache_folder(), group)
    return found


def forget() -> None:
    """Drop what this process remembers (the next :func:`costs` reads the file again)."""
    _memo.clear()


def cache_folder() -> Path:
    """``$IMGCONV_CACHE``, else ``$XDG_CACHE_HOME/imgconv``, else ``~/.cache/imgconv``."""
    own = os.environ.get(CACHE_VAR, "").strip()
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "imgconv"
    return Path.home() / ".cache" / "imgconv"


def machine_key() -> dict[str, Any]:
    """What the measured costs depend on: the CPU, its cores, the versions of Python and
    the libraries.  Not the thread settings (a ``batch`` worker runs on one thread): every
    method is as parallel as the others, so their order hardly moves with them."""
    cv2 = _cv2()
    return {
        "format": FORMAT,
        "imgconv": getattr(sys.modules.get("imgconv"), "__version__", "?"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _scipy_version(),
        "opencv": getattr(cv2, "__version__", None),
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
    }


def _load_or_measure(folder: Path, group: str) -> Any:
    path = folder / FILE_NAME
    key = machine_key()
    stored = read_groups(path, key).get(group)
    if stored is not None:
        return stored
    name, _, kind = group.partition(" ")
    measured: Any = (measure_fft(np.dtype(name), _constants(name)) if kind == "fft"
                     else measure(np.dtype(name)))
    groups = read_groups(path, key)  # read again: another group may have been written
    groups[group] = measured
    write_groups(path, key, groups)
    return measured


def read_groups(path: Path, key: dict[str, Any]) -> dict[str, Any]:
    """The constants stored in the cache file for this machine and these versions, by
    group (``float32``, ``float32 fft``, ...).  A missing, unreadable, damaged or stale
    file gives none; a damaged group is left out (it is measured again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeError):
        return {}
    if (not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key
            or not isinstance(data.get("groups"), dict)):
        return {}
    found = {g: _from_stored(g, v) for g, v in data["groups"].items()}
    return {g: c for g, c in found.items() if c is not None}


def _from_stored(group: str, value: object) -> Any:
    """The constants of ``group`` from their stored form, when every one is there, finite
    and positive (else None: the group is measured again)."""
    name, _, kind = group.partition(" ")
    cls = FftCosts if kind == "fft" else Costs
    if name not in DEFAULTS or kind not in ("", "fft"):
        return None
    names = [f.name for f in fields(cls)]
    if not isinstance(value, dict) or sorted(value) != sorted(names):
        return None
    numbers = [value[n] for n in names]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               and v > 0 for v in numbers):
        return None
    return cls(*(float(v) for v in numbers))


def write_groups(path: Path, key: dict[str, Any], groups: dict[str, Any]) -> bool:
    """Write the cache file atomically (a temporary file in the folder, renamed over it);
    False when the folder cannot be written (the costs then live in this process only)."""
    import tempfile

    data = {"format": FORMAT, "key": key, "groups": {g: asdict(c) for g, c in groups.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration.", suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


# -- the measurement ---------------------------------------------------------------


def measure(dtype: np.dtype[Any]) -> Costs:
    """Time the OpenCV backend's own calls in ``dtype`` and fit :class:`Costs` (~0.15 s
    for float32 on the development machine; without OpenCV, the defaults)."""
    if _cv2() is None:  # pragma: no cover - opencv-python-headless is a dependency
        return DEFAULTS[dtype.name]
    jobs, repeats = _jobs(dtype)
    return fit(time_jobs(jobs, repeats), dtype)


def measure_fft(dtype: np.dtype[Any], base: Costs) -> FftCosts:
    """Time scipy.fft's correlation (the numpy backend's) in ``dtype``; the result is put
    on the scale of ``base`` by timing one of its calls again (the load of the machine
    may have changed since ``base`` was measured)."""
    from imgconv.boundary import boundary_mode
    from imgconv.engine.backends import backend_named

    by_numpy = backend_named("numpy")

    wrap = boundary_mode("wrap")
    big = np.random.default_rng(21).random((SIDE // 2, SIDE)).astype(dtype)
    tiny = big[:TINY, :TINY].copy()
    k3 = _kernel((3, 3))
    jobs: dict[str, Callable[[], object]] = {
        "fft": lambda: by_numpy.correlate_same(big, k3, "fft", wrap, 0.0),
        "call_fft": lambda: by_numpy.correlate_same(tiny, k3, "fft", wrap, 0.0),
    }
    repeats = {"call_fft": 10}
    if _cv2() is not None:
        own, _ = _jobs(dtype, only=("direct_s",))
        jobs.update(own)
    ns = {k: v * 1e9 for k, v in time_jobs(jobs, repeats).items()}
    scale = 1.0
    if "direct_s" in ns:
        side = _small_side(dtype)
        then = SIDE * SIDE * (base.direct0 + base.direct_tap * side * side)
        scale = min(max(then / ns["direct_s"], 0.2), 5.0)
    n = big.shape[0] * big.shape[1]
    per = max((ns["fft"] - ns["call_fft"]) / (n * math.log2(n)), 1e-4)
    return FftCosts(fft=per * scale, call_fft=max(ns["call_fft"] * scale, 1.0))


def time_jobs(jobs: dict[str, Callable[[], object]],
              repeats: dict[str, int] | None = None) -> dict[str, float]:
    """Seconds per call of each job, all from the one round of runs the least disturbed
    (``repeats``: calls a run, for the jobs of a few microseconds).

    A round runs every job once, back to back (alternate rounds in reverse order); the
    first round counts too.  Rounds go on until :data:`RUNS` were run and one of them is
    within :data:`SETTLED` of the fastest time of every job, or two were and
    :data:`BUDGET` seconds are spent.  The times of one round, not each job's fastest
    time (the round whose worst job is nearest its fastest time): the model compares the
    jobs' times, and a loaded machine slows some calls more than others (OpenCV's threads
    wait for a core, a pass over memory does not), so each job's luckiest moment would set
    methods against each other under different loads.
    """
    repeats = repeats or {}
    start = time.perf_counter()
    rounds: list[dict[str, float]] = []
    names = list(jobs)

    def spread(rnd: dict[str, float]) -> float:
        return max(rnd[n] / min(r[n] for r in rounds) for n in names)

    for r in range(MAX_RUNS):
        rnd: dict[str, float] = {}
        for name in names[::-1] if r % 2 else names:
            job, count = jobs[name], repeats.get(name, 1)
            t0 = time.perf_counter()
            for _ in range(count):
                job()
            rnd[name] = (time.perf_counter() - t0) / count
        rounds.append(rnd)
        spent = time.perf_counter() - start
        if (len(rounds) >= RUNS and min(map(spread, rounds)) <= 1 + SETTLED) or (
                len(rounds) >= 2 and spent > BUDGET):
            break
    return min(rounds, key=lambda rnd: (spread(rnd), sum(rnd[n] / min(r[n] for r in rounds)
                                                         for n in names)))


def _small_side(dtype: np.dtype[Any]) -> int:
    """The side of the largest spatial filter2D call (below OpenCV's DFT size)."""
    return 11 if dtype == np.float32 else 7


def _jobs(dtype: np.dtype[Any], only: tuple[str, ...] = ()
          ) -> tuple[dict[str, Callable[[], object]], dict[str, int]]:
    """The calls to time (the OpenCV backend's own functions, as the engine runs them),
    and how many calls make one run of those that take microseconds."""
    from imgconv.boundary import boundary_mode, pad
    from imgconv.engine.backends import backend_named

    by_opencv = backend_named("opencv")

    mode = boundary_mode("reflect")
    rng = np.random.default_rng(20)
    big = rng.random((SIDE, SIDE)).astype(dtype)
    other = big.copy()
    tiny = big[:TINY, :TINY].copy()
    side = _small_side(dtype)
    same = by_opencv.correlate_same
    k3, ks, k15, k101 = (_kernel((n, n)) for n in (3, side, 15, 101))
    asym5, asym31 = (_kernel((n, n), factors=True) for n in (5, 31))
    g = np.exp(-np.arange(-15, 16) ** 2 / (2 * 3.75**2))
    sym31 = _kernel((31, 31), weights=np.outer(g, g))
    g = np.exp(-np.arange(-50, 51) ** 2 / (2 * 12.5**2))
    sym101 = _kernel((101, 101), weights=np.outer(g, g))
    k_tiny = _kernel((11, 12))  # 132 taps: OpenCV's DFT filter in float32 and float64
    padded = pad(big, ((7, 7), (7, 7)), mode, 0.0)
    jobs: dict[str, Callable[[], object]] = {
        "direct3": lambda: same(big, k3, "direct", mode, 0.0),
        "direct_s": lambda: same(big, ks, "direct", mode, 0.0),
        "blocks15": lambda: by_opencv.correlate_valid(padded, k15, "direct"),
        "sep5": lambda: same(big, asym5, "separable", mode, 0.0),
        "sep31": lambda: same(big, asym31, "separable", mode, 0.0),
        "sym31": lambda: same(big, sym31, "separable", mode, 0.0),
        "sym101": lambda: same(big, sym101, "separable", mode, 0.0),
        "add": lambda: np.add(other, big, out=other),
        "pad": lambda: pad(big, ((7, 7), (7, 7)), mode, 0.0),
        "dft15": lambda: same(big, k15, "fft", mode, 0.0),
        "dft101": lambda: same(big, k101, "fft", mode, 0.0),
        "call": lambda: same(tiny, k3, "direct", mode, 0.0),
        "call_dft": lambda: same(tiny, k_tiny, "fft", mode, 0.0),
        "call_pad": lambda: pad(tiny, ((1, 1), (1, 1)), mode, 0.0),
    }
    if only:
        jobs = {k: v for k, v in jobs.items() if k in only}
    return jobs, {"call": 20, "call_dft": 5, "call_pad": 20}


def _kernel(shape: tuple[int, int], *, factors: bool = False,
            weights: np.ndarray[Any, Any] | None = None) -> Any:
    from imgconv.kernels import Kernel

    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    if weights is None:
        weights = (np.outer(rng.random(shape[0]) + 0.5, rng.random(shape[1]) + 0.5)
                   if factors else rng.random(shape) + 0.5)
    return Kernel(weights, name="calibration")


def fit(seconds: dict[str, float], dtype: np.dtype[Any]) -> Costs:
    """:class:`Costs` from the timings of :func:`_jobs`, each kept in a sane range: a
    noisy timing may bend the model, never turn a cost negative."""
    n = float(SIDE * SIDE)
    ns = {k: v * 1e9 for k, v in seconds.items()}
    s = _small_side(dtype)
    direct_tap = max((ns["direct_s"] - ns["direct3"]) / n / (s * s - 9), 1e-4)
    direct0 = max(ns["direct3"] / n - 9 * direct_tap, 0.01)
    pieces = [min(s, 15 - i) for i in range(0, 15, s)]  # the blocks of a 15x15 kernel
    taps = sum(a * b for a in pieces for b in pieces)
    add = max(ns["add"] / n, 0.01)
    model = len(pieces) ** 2 * (direct0 + add) + direct_tap * taps
    block = max((ns["blocks15"] / n - model) / len(pieces) ** 2, 0.01)
    sep_tap = max((ns["sep31"] - ns["sep5"]) / n / (62 - 10), 1e-4)
    sep0 = max(ns["sep5"] / n - 10 * sep_tap, 0.01)
    sep_sym = min(max((ns["sym31"] / n - sep0) / (62 * sep_tap), 0.3), 1.0)
    sep_long = max((ns["sym101"] / n - sep0 - sep_tap * 202 * sep_sym) / (202 - 62), 0.0)
    dft = {}
    for k in (15, 101):
        tiles, area, _ = dft_tiles((SIDE, SIDE), (k, k))
        dft[k] = max(ns[f"dft{k}"] / (tiles * area), 0.01)
    # a sample of a 576² tile costs about what one of a 256² tile does (log2 of the DFT
    # size: 18.3 against 16; measured 0.9-1.0 on a quiet machine): a wider ratio is noise
    dft[101] = min(max(dft[101], 0.6 * dft[15]), 1.4 * dft[15])
    return Costs(
        direct0=direct0, direct_tap=direct_tap, block=block, sep0=sep0, sep_tap=sep_tap,
        sep_sym=sep_sym, sep_long=max(sep_long, 1e-4), add=add,
        pad=max(ns["pad"] / ((SIDE + 14) ** 2), 0.01), dft_small=dft[15],
        dft_large=dft[101], call=max(ns["call"], 1.0), call_dft=max(ns["call_dft"], 1.0),
        call_pad=max(ns["call_pad"], 1.0))


# -- the tiles of OpenCV's DFT filter -------------------------------------------------


def optimal_dft_size(n: int) -> int:
    """The smallest 5-smooth number (2**a * 3**b * 5**c) from ``n`` on: OpenCV's
    ``getOptimalDFTSize``, which is scipy's ``next_fast_len`` for real transforms."""
    from scipy.fft import next_fast_len

    return int(next_fast_len(max(int(n), 1), real=True))


def dft_tiles(corr: tuple[int, int], kshape: tuple[int, int]) -> tuple[int, int, float]:
    """How OpenCV's DFT filter (``crossCorr``) covers an output of shape ``corr`` for a
    kernel of shape ``kshape``: ``(tiles, block area, log2 of the DFT area)``.  Blocks of
    4.5 kernel sides, at least 256 minus the kernel, at most the output; the DFT size the
    optimal one for a block plus the kernel; the block then all the DFT leaves."""
    count, area, dft = 1, 1, 1
    for n, k in zip(corr, kshape, strict=True):
        n = max(int(n), 1)
        block = min(max(round(k * 4.5), 256 - k + 1), n)
        d = max(optimal_dft_size(block + k - 1), 2)
        block = max(min(d - k + 1, n), 1)
        count *= -(-n // block)
        area *= block
        dft *= d
    return count, area, math.log2(dft)


# -- what the key is made of ---------------------------------------------------------


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv-python-headless is a dependency
        return None
    return cv2


def _cpu_model() -> str:
    """The CPU's name (``/proc/cpuinfo``'s model name, else the platform's word)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count()


def _scipy_version() -> str | None:
    """scipy's version without importing scipy (its ``version.py`` read as text): the
    key is checked by every process that filters, most of which never import scipy."""
    import importlib.util
    import re

    try:
        spec = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    try:
        text = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8")
    except OSError:
        return spec.origin
    found = re.search(r"""^full_version\s*=\s*['"]([^'"]+)['"]""", text, re.M) or re.search(
        r"""^version\s*=\s*['"]([^'"]+)['"]""", text, re.M)
    return found.group(1) if found else spec.origin
