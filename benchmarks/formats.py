"""The format layer: imageio.v3 against the direct calls imgconv makes, format by format.

Answers one question for docs/formats.md: where does ``imageio.v3`` (``iio.imread`` /
``iio.imwrite``) cost no more than the direct Pillow / OpenCV / tifffile / numpy calls that
``imgconv.pixels`` makes, and where does it lose something imgconv must keep?

Run from the repository with imgconv installed (``pip install -e .``)::

    python benchmarks/formats.py                 # 1024x1024 images, 7 timed runs each
    python benchmarks/formats.py --repeat 5 --size 512 --json formats.json

Every time is the median of ``--repeat`` (at least 5) runs after one warm-up, the contenders
of a format timed interleaved (the machine may be shared and noisy).  Decoding reads the file
imgconv itself wrote; the imgconv decode column is the public ``imgconv.read_image``.  The
imgconv encode column is the direct call ``imgconv.pixels`` makes, checked here to write the
very bytes ``imgconv.write_image`` writes (which adds only the atomic rename and fsync).
imageio writes with the same encoder parameters (zlib level 1, JPEG quality 95, lossless
WebP, the same TIFF tags), so that its files could replace imgconv's; the "defaults" column
is ``iio.imwrite(path, array)`` with nothing else.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import imageio
import imageio.v3 as iio
import numpy as np
import PIL
import tifffile
from PIL import GifImagePlugin, Image, ImageCms, features

import imgconv
from imgconv import read_image, write_image

PIL_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".gif": "GIF", ".webp": "WEBP", ".bmp": "BMP"}
MAKE = "imgconv-bench"  # the EXIF Make tag written and looked for
SLOWER = 1.05  # a median ratio above this counts as "costs more" (the machine is noisy)
Row = dict[str, Any]


@dataclass
class Case:
    """One format: the array, the encoder parameters imgconv uses, the imageio plugin."""

    key: str
    label: str
    ext: str
    array: np.ndarray
    save: dict[str, Any]  # imgconv's encoder parameters, passed to imageio as well
    plugin: str  # the imageio plugin named explicitly
    read_kw: dict[str, Any] = field(default_factory=dict)  # for the explicit plugin
    write_kw: dict[str, Any] | None = None  # for the explicit plugin (default: save)


def synthetic(size: int) -> np.ndarray:
    """A seeded photo-like RGB image in 0..1: smooth colour waves plus a little noise."""
    y, x = np.mgrid[0:size, 0:size] / size
    waves = np.stack([np.sin(2 * np.pi * (3 * x + y)), np.cos(2 * np.pi * (2 * y - x)),
                      np.sin(10 * np.pi * x * y)], axis=2)
    noise = np.random.default_rng(6).normal(0.0, 0.02, waves.shape)
    return np.clip(0.5 + 0.4 * waves + noise, 0.0, 1.0)


def cases(size: int) -> list[Case]:
    base = synthetic(size)
    u8 = np.rint(base * 255).astype(np.uint8)
    u16 = np.rint(base * 65535).astype(np.uint16)
    f32 = base[:, :, 0].astype(np.float32)
    rgb_tiff = {"photometric": "rgb", "planarconfig": "contig"}
    return [
        Case("png8", "PNG 8-bit RGB", ".png", u8, {"compress_level": 1}, "pillow"),
        Case("png16", "PNG 16-bit RGB", ".png", u16, {"compress_level": 1}, "opencv",
             {"flags": cv2.IMREAD_UNCHANGED},
             {"params": [cv2.IMWRITE_PNG_COMPRESSION, 1]}),
        Case("jpeg", "JPEG RGB q95", ".jpg", u8, {"quality": 95}, "pillow"),
        Case("tiff16", "TIFF uint16 RGB", ".tif", u16, rgb_tiff, "tifffile"),
        Case("tiff32", "TIFF float32 gray", ".tif", f32, {"photometric": "minisblack"},
             "tifffile"),
        Case("gif", "GIF (RGB in, palette)", ".gif", u8, {}, "pillow", {"index": 0}),
        Case("webp", "WebP lossless RGB", ".webp", u8, {"lossless": True}, "pillow"),
        Case("bmp", "BMP RGB", ".bmp", u8, {}, "pillow"),
        Case("npy", ".npy float32 RGB", ".npy", base.astype(np.float32), {}, "(none)"),
    ]


# --------------------------------------------------------------------------- timing


def interleaved(calls: dict[str, Callable[[], object]], repeat: int,
                loops: int = 1) -> dict[str, float]:
    """Median milliseconds per call of each contender, timed in turn, order rotating."""
    names = list(calls)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            call = calls[name]
            t0 = time.perf_counter()
            for _ in range(loops):
                call()
            samples[name].append((time.perf_counter() - t0) / loops * 1e3)
    return {n: statistics.median(v) for n, v in samples.items()}


def probe(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run once (the warm-up): the result, or None and why it failed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(), None
    except Exception as exc:  # a contender that cannot do it is reported, not fatal
        return None, f"fails: {type(exc).__name__}: {str(exc).splitlines()[0][:60]}"


# --------------------------------------------------------------------------- the calls


def direct_write(case: Case, path: str) -> None:
    """What ``imgconv.pixels`` calls to encode this case (no temp file, no fsync)."""
    arr = case.array
    if case.ext == ".npy":
        with open(path, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
    elif case.ext == ".tif":
        tifffile.imwrite(path, arr, **case.save)
    elif case.key == "png16":  # OpenCV: Pillow cannot write 16-bit RGB
        ok, data = cv2.imencode(".png", np.ascontiguousarray(arr[:, :, ::-1]),
                                [cv2.IMWRITE_PNG_COMPRESSION, 1])
        assert ok
        Path(path).write_bytes(data.tobytes())
    else:
        Image.fromarray(arr).save(path, format=PIL_FORMAT[case.ext], **case.save)


def fresh(path: str, write: Callable[[str], Any]) -> Callable[[], None]:
    """A writer that starts from no file (imageio's Pillow plugin may append otherwise)."""

    def call() -> None:
        if os.path.exists(path):
            os.unlink(path)
        write(path)

    return call


def encoders(case: Case, folder: Path) -> dict[str, tuple[str, Callable[[], None]]]:
    """name -> (output path, call) for the encode contenders of one case."""
    def out(tag: str) -> str:
        return str(folder / f"{case.key}.{tag}{case.ext}")

    if case.ext == ".npy":  # imageio has no .npy plugin: nothing to compare
        return {"imgconv": (out("imgconv"), fresh(out("imgconv"),
                                                  lambda p: direct_write(case, p)))}
    explicit = case.save if case.write_kw is None else case.write_kw
    specs: dict[str, Callable[[str], Any]] = {
        "imgconv": lambda p: direct_write(case, p),
        "iio auto": lambda p: iio.imwrite(p, case.array, **case.save),
        "iio explicit": lambda p: iio.imwrite(p, case.array, plugin=case.plugin, **explicit),
        "iio defaults": lambda p: iio.imwrite(p, case.array),
    }
    paths = {n: out(n.replace(" ", "-")) for n in specs}
    return {n: (paths[n], fresh(paths[n], w)) for n, w in specs.items()}


def decoders(case: Case, path: str) -> dict[str, Callable[[], Any]]:
    calls: dict[str, Callable[[], Any]] = {"imgconv": lambda: read_image(path).array}
    if case.ext != ".npy":
        calls["iio auto"] = lambda: iio.imread(path)
        calls["iio explicit"] = lambda: iio.imread(path, plugin=case.plugin, **case.read_kw)
    return calls


def plugin_of(path: str) -> str:
    with iio.imopen(path, "r") as f:
        return type(f).__name__.replace("Plugin", "").lower()


def same_pixels(a: Any, b: np.ndarray) -> str:
    if a is None:
        return "-"
    a = np.asarray(a)
    if a.shape != b.shape:
        return f"no: shape {a.shape}"
    if a.dtype != b.dtype:
        return f"no: {a.dtype}"
    return "yes" if np.array_equal(a, b) else "no: values"


# --------------------------------------------------------------------------- one case


def measure(case: Case, folder: Path, repeat: int, loops: int = 1) -> Row:
    """Encode and decode times of every contender for one case, and what they keep."""
    row: Row = {"key": case.key, "label": case.label, "shape": list(case.array.shape),
                "dtype": str(case.array.dtype), "encode": {}, "decode": {}}
    reference = str(folder / f"{case.key}.reference{case.ext}")
    write_image(reference, case.array, overwrite=True)  # imgconv's own writer, in full
    ref_bytes = Path(reference).read_bytes()
    row["file_kb"] = round(len(ref_bytes) / 1024)
    timed: dict[str, Callable[[], Any]] = {}
    for name, (path, call) in encoders(case, folder).items():
        _, error = probe(call)
        same = "-" if error else ("yes" if Path(path).read_bytes() == ref_bytes else "no")
        row["encode"][name] = {"status": error or "ok", "same_bytes": same}
        if error is None:
            timed[name] = call
    for name, ms in interleaved(timed, repeat, loops).items():
        row["encode"][name]["ms"] = ms
    if row["encode"]["imgconv"]["same_bytes"] != "yes":
        raise SystemExit(f"{case.key}: the direct call no longer writes what imgconv writes")
    expected = read_image(reference).array
    timed = {}
    for name, call in decoders(case, reference).items():
        got, error = probe(call)
        row["decode"][name] = {"status": error or "ok", "same_pixels": same_pixels(got, expected)}
        if error is None:
            timed[name] = call
    for name, ms in interleaved(timed, repeat, loops).items():
        row["decode"][name]["ms"] = ms
    if case.ext != ".npy":
        row["auto_plugin"] = plugin_of(reference)
    return row


def verdict(row: Row) -> str:
    """Per call: imageio costs no more (and loses nothing) -> use it; else the direct call.

    The import and first-call costs (a fixed price per process) are reported apart."""
    if "auto_plugin" not in row:
        return "direct call (imageio has no .npy plugin)"
    reasons = []
    for what, key in (("encode", "same_bytes"), ("decode", "same_pixels")):
        best = None
        for name in ("iio auto", "iio explicit"):
            r = row[what][name]
            if r["status"] != "ok" or r[key] != "yes":
                continue
            ratio = r["ms"] / row[what]["imgconv"]["ms"]
            best = ratio if best is None else min(best, ratio)
        if best is None:
            reasons.append(f"{what}: imageio loses data or fails")
        elif best > SLOWER:
            reasons.append(f"{what}: imageio x{best:.2f}")
    return "imageio costs no more" if not reasons else "direct call (" + "; ".join(reasons) + ")"


# --------------------------------------------------------------------------- (d) fidelity


def _pil_info(path: str) -> dict[str, Any]:
    with Image.open(path) as im:
        info: dict[str, Any] = {str(k): v for k, v in im.info.items()}
        info["exif_tags"] = dict(im.getexif())
        info["frames"] = getattr(im, "n_frames", 1)
        durations = []
        for i in range(info["frames"]):
            im.seek(i)
            durations.append(im.info.get("duration"))
        info["durations"] = durations
        return info


def _png_bits(path: str) -> int:
    return Path(path).read_bytes()[24]


def fidelity(folder: Path) -> list[tuple[str, str, str]]:
    """(what imgconv needs, what imgconv does today, what imageio.v3 does)."""
    rng = np.random.default_rng(3)
    u16 = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    rows: list[tuple[str, str, str]] = []
    p16 = str(folder / "fid16.png")
    write_image(p16, u16, overwrite=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = iio.imread(p16)
    meta = iio.immeta(p16)
    _, err = probe(lambda: iio.imwrite(str(folder / "fid16w.png"), u16))
    rows.append(("16-bit RGB PNG, read",
                 f"{read_image(p16).array.dtype} (OpenCV), values equal",
                 f"{auto.dtype} with the auto plugin ({plugin_of(p16)}), {len(caught)} warning(s); "
                 f"immeta says mode {meta.get('mode')!r}; plugin='opencv', "
                 "flags=cv2.IMREAD_UNCHANGED reads uint16 (channels put back to RGB)"))
    ow = str(folder / "fid16o.png")
    iio.imwrite(ow, u16, plugin="opencv", params=[cv2.IMWRITE_PNG_COMPRESSION, 1])
    rows.append(("16-bit RGB PNG, write", "16-bit (OpenCV)",
                 f"auto/pillow {err or 'ok'}; plugin='opencv': {_png_bits(ow)}-bit, "
                 f"same bytes as imgconv: {Path(ow).read_bytes() == Path(p16).read_bytes()}"))
    rows += _fidelity_gray16(folder, rng)
    rows += _fidelity_metadata(folder, rng)
    rows += _fidelity_frames(folder, rng)
    rows += _fidelity_odd(folder, rng)
    return rows


def _fidelity_gray16(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    g16 = rng.integers(0, 65536, (24, 32), dtype=np.uint16)
    path = str(folder / "g16.png")
    iio.imwrite(path, g16, compress_level=1)
    kept = np.array_equal(iio.imread(path), g16) and _png_bits(path) == 16
    ga16 = rng.integers(0, 65536, (24, 32, 2), dtype=np.uint16)
    _, err = probe(lambda: iio.imwrite(str(folder / "ga16.png"), ga16))
    return [("16-bit gray PNG", "uint16 both ways (Pillow)",
             f"uint16 both ways, equal: {kept}"),
            ("16-bit gray+alpha PNG, write", "imgconv's own 30-line encoder",
             f"auto/pillow {err or 'ok'}")]


def _fidelity_metadata(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    u8 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010F] = MAKE
    found = []
    for ext in (".png", ".jpg", ".webp", ".tif"):
        src = str(folder / f"meta{ext}")
        Image.fromarray(u8).save(src, icc_profile=icc, dpi=(300, 300), exif=exif.tobytes())
        meta = iio.immeta(src)
        keys = [k for k in ("icc_profile", "dpi", "exif") if k in meta]
        dst = str(folder / f"meta-out{ext}")
        params: dict[str, Any] = {"icc_profile": icc, "dpi": (300, 300), "exif": exif.tobytes()}
        if ext == ".tif":  # the tifffile plugin: tifffile's own keywords
            params = {"iccprofile": icc, "resolution": (300, 300)}
        iio.imwrite(dst, u8, **params)
        info = _pil_info(dst)
        written = [k for k, ok in (("icc_profile", info.get("icc_profile") == icc),
                                   ("dpi", info.get("dpi") is not None),
                                   ("exif", info["exif_tags"].get(0x010F) == MAKE)) if ok]
        found.append(f"{ext}: immeta {'/'.join(keys) or 'none'}, "
                     f"imwrite(**kw) keeps {'/'.join(written) or 'none'}")
    return [("ICC profile, dpi, EXIF",
             "ICC + dpi kept for PNG/JPEG/WebP (Pillow info); EXIF dropped; TIFF tags dropped",
             "; ".join(found) + " (TIFF: tifffile plugin's immeta has no ICC/dpi; "
             "its imwrite passes resolution=/iccprofile= to tifffile)")]


def _fidelity_frames(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    stack = rng.integers(0, 65536, (3, 24, 32, 3), dtype=np.uint16)
    tif = str(folder / "pages.tif")
    write_image(tif, stack, overwrite=True, pages=3)
    back = iio.imread(tif, index=None)
    out = str(folder / "pages-iio.tif")
    iio.imwrite(out, stack, photometric="rgb", planarconfig="contig")
    with tifffile.TiffFile(out) as t:
        pages = len(t.pages)
    frames = rng.integers(0, 256, (4, 24, 32, 3), dtype=np.uint8)
    gif = str(folder / "anim.gif")
    iio.imwrite(gif, frames, duration=[40, 80, 120, 160], loop=0)
    info = _pil_info(gif)
    read = iio.imread(gif, index=None)
    durations = [iio.immeta(gif, index=i).get("duration") for i in range(len(read))]
    return [("multi-page TIFF", "every page, stack (P,H,W,C); written as P pages",
             f"imread(index=None) {back.shape}, equal: {np.array_equal(back, stack)}; "
             f"imwrite(stack) -> {pages} pages, same bytes as imgconv: "
             f"{Path(out).read_bytes() == Path(tif).read_bytes()}"),
            ("GIF frames and durations", "one frame (--page N); durations not kept",
             f"imread(index=None) {read.shape}; immeta(index=i) durations {durations}; "
             f"imwrite(frames, duration=, loop=) -> {info['frames']} frames, "
             f"durations {info['durations']}, loop {info.get('loop')}")]


def _fidelity_odd(folder: Path, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    u8 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    pal = Image.fromarray(u8).quantize(16)
    png = str(folder / "palette.png")
    pal.save(png, transparency=0)
    mine = read_image(png).array
    theirs = iio.imread(png)
    gif = str(folder / "one.gif")
    Image.fromarray(u8).save(gif)
    npy = str(folder / "x.npy")
    iio.imwrite(npy, u8)
    head = Path(npy).read_bytes()[:4]
    np.save(npy, u8)
    _, err = probe(lambda: iio.imread(npy))
    part = str(folder / ".out.png.k3j9x.part")  # the temporary name of an atomic write
    iio.imwrite(part, u8)
    part_head = Path(part).read_bytes()[:4]
    iio.imwrite(part, u8, extension=".png")
    GifImagePlugin.LOADING_STRATEGY = GifImagePlugin.LoadingStrategy.RGB_AFTER_FIRST  # default
    before = GifImagePlugin.LOADING_STRATEGY
    iio.imread(gif)
    after = GifImagePlugin.LOADING_STRATEGY
    return [("palette PNG with transparency", f"{mine.shape} (RGBA)",
             f"{theirs.shape} by default (alpha dropped); mode='RGBA' gives RGBA"),
            ("single-frame GIF", f"{read_image(gif).array.shape}",
             f"imread() {iio.imread(gif).shape}; index=0 gives {iio.imread(gif, index=0).shape}"),
            (".npy", "np.load / np.save",
             f"imread: {(err or 'ok').split(' `')[0]}; imwrite('x.npy') writes a file "
             f"starting {head!r} (a TIFF under a .npy name)"),
            ("atomic write to '.out.png.RANDOM.part'", "Pillow told format='PNG'",
             f"imwrite picks by extension: writes {part_head!r} (TIFF) unless extension='.png' "
             f"is passed (then {Path(part).read_bytes()[:4]!r})"),
            ("no global side effects", "none",
             f"iio.imread of a GIF sets Pillow's global GifImagePlugin.LOADING_STRATEGY "
             f"{before.name} -> {after.name} for the whole process")]


def channel_swap(size: int, repeat: int) -> dict[str, float]:
    """BGR <-> RGB of a 16-bit image: imgconv's fancy indexing against imageio's cvtColor."""
    bgr = np.rint(synthetic(size) * 65535).astype(np.uint16)
    fancy = np.ascontiguousarray(bgr[:, :, [2, 1, 0]])
    if not np.array_equal(fancy, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)):
        raise SystemExit("cv2.cvtColor does not swap channels like numpy indexing")
    return interleaved({"numpy bgr[:, :, [2, 1, 0]] (imgconv)":
                        lambda: np.ascontiguousarray(bgr[:, :, [2, 1, 0]]),
                        "cv2.cvtColor(bgr, COLOR_BGR2RGB) (imageio's opencv plugin)":
                        lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}, repeat, loops=5)


# --------------------------------------------------------------------------- imports


def _child_env(cache: Path) -> dict[str, str]:
    """As an installed package runs: bytecode cached (PYTHONDONTWRITEBYTECODE dropped)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def import_ms(code: str, module: str, env: dict[str, str], runs: int) -> float:
    """Median cumulative ``-X importtime`` of ``module``'s top-level line, fresh processes."""
    samples = []
    for _ in range(runs + 1):  # the first run fills the bytecode cache
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode:  # e.g. imgconv mid-refactor: report n/a, keep measuring the rest
            return float("nan")
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].rstrip() == f" {module}":
                samples.append(int(parts[1]) / 1e3)
    return statistics.median(samples[1:])


FIRST_CALL = """
import time, numpy as np
{imports}
t0 = time.perf_counter()
a = {call}
print((time.perf_counter() - t0) * 1e3, a.shape)
"""


def first_call_ms(imports: str, call: str, env: dict[str, str], runs: int) -> float:
    """Median ms of the first read of a small PNG in a fresh process (after the imports)."""
    code = FIRST_CALL.format(imports=imports, call=call)
    samples = []
    for _ in range(runs + 1):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout
        samples.append(float(out.split()[0]))
    return statistics.median(samples[1:])


def imports(folder: Path, runs: int) -> list[tuple[str, float]]:
    env = _child_env(folder / "pycache")
    small = folder / "small.png"
    Image.fromarray(synthetic(64).__mul__(255).astype(np.uint8)).save(small)
    pre = "import numpy, PIL.Image; "
    cli = "import imgconv.cli, numpy, PIL.Image, cv2, tifffile, rich.console; "
    return [
        ("import imageio.v3, alone (numpy included)", import_ms("import imageio.v3",
                                                                "imageio.v3", env, runs)),
        ("import imageio.v3 after numpy + PIL.Image", import_ms(pre + "import imageio.v3",
                                                                "imageio.v3", env, runs)),
        ("import imageio.v3 after what `imgconv apply` imports (imgconv.cli, numpy, "
         "PIL.Image, cv2, tifffile, rich)", import_ms(cli + "import imageio.v3", "imageio.v3",
                                                      env, runs)),
        ("import PIL.Image after numpy", import_ms("import numpy; import PIL.Image",
                                                   "PIL.Image", env, runs)),
        ("import tifffile after numpy", import_ms("import numpy; import tifffile",
                                                  "tifffile", env, runs)),
        ("import cv2 after numpy", import_ms("import numpy; import cv2", "cv2", env, runs)),
        ("first read of a 64x64 PNG: PIL.Image.open + np.asarray",
         first_call_ms("from PIL import Image", f"np.asarray(Image.open({str(small)!r}))",
                       env, runs)),
        ("first read of a 64x64 PNG: iio.imread (plugin lookup, plugin import)",
         first_call_ms("import imageio.v3 as iio", f"iio.imread({str(small)!r})", env, runs)),
    ]


# --------------------------------------------------------------------------- output


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__,
            "imageio": imageio.__version__, "Pillow": PIL.__version__,
            "tifffile": tifffile.__version__, "opencv": cv2.__version__,
            "imgconv": imgconv.__version__, "zlib (Pillow)": str(features.version("zlib")),
            "libjpeg (Pillow)": str(features.version("jpg")),
            "libwebp (Pillow)": str(features.version("webp")),
            "cores": str(os.cpu_count()), "machine": platform.machine()}


def _cell(entry: Row, key: str, base: float) -> str:
    if entry["status"] != "ok":
        return str(entry["status"])
    same = entry[key]
    mark = "" if same == "yes" else f", **{'loses data' if key == 'same_pixels' else 'other bytes'}"
    mark = mark + f" ({same})**" if mark else ""
    return f"{entry['ms']:.1f} (x{entry['ms'] / base:.2f}){mark}"


def table(rows: list[Row], what: str, names: tuple[str, ...]) -> str:
    key = "same_bytes" if what == "encode" else "same_pixels"
    head = "| format | imgconv ms | " + " | ".join(f"{n} ms (ratio)" for n in names[1:]) + " |"
    lines = [head, "|---|--:|" + "--:|" * (len(names) - 1)]
    for row in rows:
        entries = row[what]
        base = entries["imgconv"]["ms"]
        cells = [_cell(entries[n], key, base) if n in entries else "n/a" for n in names[1:]]
        label = f"{row['label']} ({row.get('auto_plugin', 'no plugin')})"
        lines.append(f"| {label} | {base:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(result: Row) -> str:
    out = ["versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()), ""]
    out += [f"## import and first-call cost (median of {result['runs']} fresh processes)", "",
            "| what | ms |", "|---|--:|"]
    out += [f"| {what} | {ms:.1f} |" for what, ms in result["imports"]]
    size = result["size"]
    for what, names in (("decode", ("imgconv", "iio auto", "iio explicit")),
                        ("encode", ("imgconv", "iio auto", "iio explicit", "iio defaults"))):
        out += ["", f"## {what}, {size}x{size}, median of {result['repeat']} (ms, ratio to "
                "imgconv; auto plugin in brackets)", "", table(result["cases"], what, names)]
        out += ["", f"### per call, 64x64 PNG 8-bit RGB ({what})", "",
                table(result["small"], what, names)]
    out += ["", f"## channel swap, {size}x{size} uint16 RGB (ms)", "", "| call | ms |",
            "|---|--:|"]
    out += [f"| {what} | {ms:.2f} |" for what, ms in result["swap"].items()]
    out += ["", f"## verdicts per call (ratio above {SLOWER} = costs more; imports apart)", "",
            "| format | verdict |", "|---|---|"]
    out += [f"| {r['label']} | {verdict(r)} |" for r in result["cases"]]
    out += ["", "## what imgconv needs, and what imageio.v3 keeps", "",
            "| need | imgconv today | imageio.v3 |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in result["fidelity"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per contender (>= 5)")
    ap.add_argument("--size", type=int, default=1024, help="image side in pixels")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    repeat = max(args.repeat, 5)
    with tempfile.TemporaryDirectory(prefix="imgconv-formats-") as tmp:
        folder = Path(tmp)
        result: Row = {"versions": versions(), "size": args.size, "repeat": repeat,
                       "runs": repeat}
        print("imports ...", file=sys.stderr, flush=True)
        result["imports"] = imports(folder, repeat)
        result["cases"] = []
        for case in cases(args.size):
            print(f"{case.label} ...", file=sys.stderr, flush=True)
            result["cases"].append(measure(case, folder, repeat))
        result["small"] = [measure(cases(64)[0], folder, repeat, loops=50)]
        result["fidelity"] = fidelity(folder)
        result["swap"] = channel_swap(args.size, repeat)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
