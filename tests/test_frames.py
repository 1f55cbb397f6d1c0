"""Every frame of an animated GIF or WebP filtered (docs/semantics.md §7, "Frames"):
frame count, durations and loop kept; a single-frame output needs ``--page N``; batch alike.

The animations are made here with Pillow (3 frames, durations 100/200/300 ms, loop 0);
each output frame is checked against the input frame as Pillow decodes it, filtered by
scipy.ndimage (``ref.scipy``), never against imgconv.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from imgconv.errors import ImageError
from imgconv.files import process_file
from imgconv.formats import FORMATS, read_image
from imgconv.kernels import load_filter
from imgconv.options import FilterOptions

DURATIONS = [100, 200, 300]
SAVE = {".gif": {}, ".webp": {"lossless": True}}


def animation(path: Path, frames: list[np.ndarray]) -> None:
    """``frames`` saved by Pillow as one animation: DURATIONS, loop 0."""
    ims = [Image.fromarray(a) for a in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=DURATIONS, loop=0,
                **SAVE[path.suffix])


def gray_rgb(seed: int) -> list[np.ndarray]:
    """Three different RGB frames of gray content: at most 256 colours each (a GIF holds
    them, and their box3, without quantisation loss)."""
    rng = np.random.default_rng(seed)
    return [np.repeat(rng.integers(0, 256, (18, 23, 1), dtype=np.uint8), 3, axis=2)
            for _ in range(3)]


def colour_rgb(seed: int) -> list[np.ndarray]:
    """Three different RGB frames of 12 colours (their box3 has far more than 256)."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (12, 3), dtype=np.uint8)
    return [palette[rng.integers(0, 12, (18, 23))] for _ in range(3)]


def decoded(path: Path) -> tuple[list[np.ndarray], list[int], object]:
    """Pillow's frames of ``path`` as RGB, each frame's duration, the loop count."""
    frames, durations = [], []
    with Image.open(path) as im:
        loop = im.info.get("loop")
        for k in range(getattr(im, "n_frames", 1)):
            im.seek(k)
            im.load()
            durations.append(im.info.get("duration"))
            frames.append(np.asarray(im.convert("RGB")))
    return frames, durations, loop


def box3(frame: np.ndarray, ref: SimpleNamespace) -> np.ndarray:
    """box3 (imgconv's default convolution, reflect boundary) by scipy, rounded to uint8."""
    return np.clip(np.rint(ref.scipy(frame, ref.kernels["box3"])), 0, 255)


@pytest.mark.parametrize("ext", [".gif", ".webp"])
def test_every_frame_filtered_exactly(tmp_path: Path, cli: SimpleNamespace,
                                      ref: SimpleNamespace, ext: str) -> None:
    """Gray-content GIF and lossless WebP: every output frame is box3 of its own input
    frame, exactly; 3 frames, durations and loop kept."""
    src, dst = tmp_path / f"in{ext}", tmp_path / f"out{ext}"
    animation(src, gray_rgb(1))
    frames_in, _, _ = decoded(src)
    cli.ok("apply", src, "-f", "box3", "-o", dst, "-q")
    frames_out, durations, loop = decoded(dst)
    assert len(frames_out) == 3
    assert durations == DURATIONS and loop == 0
    for k, (a, b) in enumerate(zip(frames_in, frames_out, strict=True)):
        np.testing.assert_array_equal(b, box3(a, ref), err_msg=f"frame {k}")


def test_lossless_webp_colour_frames_exact(tmp_path: Path, ref: SimpleNamespace) -> None:
    src, dst = tmp_path / "in.webp", tmp_path / "out.webp"
    animation(src, colour_rgb(2))
    rec = process_file(src, dst, [load_filter("box3")], FilterOptions())
    assert rec.shape[:3] == [3, 18, 23]  # Pillow reads an animated WebP as RGB or RGBA
    frames_in, _, _ = decoded(src)
    frames_out, durations, loop = decoded(dst)
    assert durations == DURATIONS and loop == 0
    for a, b in zip(frames_in, frames_out, strict=True):
        np.testing.assert_array_equal(b, box3(a, ref))


def test_colour_gif_within_quantisation(tmp_path: Path, cli: SimpleNamespace,
                                        ref: SimpleNamespace) -> None:
    """A colour GIF's box3 has more than 256 colours: each frame is within what Pillow's
    own 256-colour quantisation of the exact result loses (plus 1 for rounding), and far
    from the unfiltered frame."""
    src, dst = tmp_path / "in.gif", tmp_path / "out.gif"
    animation(src, colour_rgb(3))
    frames_in, _, _ = decoded(src)
    cli.ok("apply", src, "-f", "box3", "-o", dst, "-q")
    frames_out, durations, loop = decoded(dst)
    assert len(frames_out) == 3 and durations == DURATIONS and loop == 0
    for k, (a, b) in enumerate(zip(frames_in, frames_out, strict=True)):
        exact = box3(a, ref)
        quantised = np.asarray(Image.fromarray(exact.astype(np.uint8)).quantize(256)
                               .convert("RGB")).astype(np.float64)
        lost = np.abs(quantised - exact)
        err = np.abs(b.astype(np.float64) - exact)
        assert err.max() <= lost.max() + 1, f"frame {k}: {err.max()} > {lost.max()} + 1"
        assert err.mean() <= lost.mean() + 1, f"frame {k}: mean {err.mean()}"
        assert np.abs(b.astype(np.float64) - a).mean() > 4 * (err.mean() + 1), k


def test_read_whole_animation(tmp_path: Path) -> None:
    """The library reads every frame as a stack with its timing; page=N one frame."""
    src = tmp_path / "in.gif"
    frames = gray_rgb(4)
    animation(src, frames)
    img = read_image(src)
    assert img.pages == 3 and img.array.shape == (3, 18, 23, 3) and not img.has_alpha
    np.testing.assert_array_equal(img.array, np.stack(frames))
    assert img.timing == {"duration": DURATIONS, "loop": 0}
    one = read_image(src, page=2)
    assert one.pages == 1 and one.timing == {}
    np.testing.assert_array_equal(one.array, frames[2])


def test_transparent_gif_frames_share_rgba(tmp_path: Path) -> None:
    """A GIF with a transparent colour: its palette first frame and RGBA later frames are
    stacked as RGBA, the transparent pixels with alpha 0."""
    src = tmp_path / "t.gif"
    base = np.zeros((6, 7), np.uint8)
    base[2:4, 3:5] = 1  # index 1 transparent
    palette = [0, 0, 0, 250, 10, 10] + [v for k in range(254) for v in (k, 40, 200 - k // 2)]
    ims = []
    for k in range(3):
        im = Image.fromarray(np.where(base == 1, 1, 2 + k).astype(np.uint8), mode="P")
        im.putpalette(palette)
        ims.append(im)
    ims[0].save(src, save_all=True, append_images=ims[1:], transparency=1, duration=DURATIONS,
                loop=0, disposal=2)
    img = read_image(src)
    assert img.array.shape == (3, 6, 7, 4) and img.has_alpha
    np.testing.assert_array_equal(img.array[:, 2:4, 3:5, 3], 0)
    np.testing.assert_array_equal(img.array[:, 0, 0, 3], 255)


def test_animation_into_single_frame_format_needs_page(tmp_path: Path,
                                                       cli: SimpleNamespace) -> None:
    src = tmp_path / "x.gif"
    animation(src, gray_rgb(5))
    code, out, err = cli.run("apply", src, "-f", "box3", "-o", tmp_path / "y.png")
    assert code == 2
    assert "--page N" in out + err and "x.gif: has 3 frames" in out + err
    assert not (tmp_path / "y.png").exists()
    cli.ok("apply", src, "-f", "box3", "--page", "1", "-o", tmp_path / "y.png", "-q")
    with Image.open(tmp_path / "y.png") as im:
        assert getattr(im, "n_frames", 1) == 1 and im.size == (23, 18)


def test_library_refusal_names_page_and_the_formats(tmp_path: Path) -> None:
    src = tmp_path / "x.webp"
    animation(src, gray_rgb(6))
    with pytest.raises(ImageError) as info:
        process_file(src, tmp_path / "y.jpg", [load_filter("box3")], FilterOptions())
    assert info.value.param == "page"
    assert "3 frames" in str(info.value) and "page=N" in str(info.value)
    assert ".tif / .gif / .webp / .apng" in str(info.value)


def test_table_says_which_formats_hold_frames() -> None:
    holders = [".tif", ".tiff", ".gif", ".webp", ".apng"]
    assert [e for e, f in FORMATS.items() if f.frames] == holders


def test_batch_writes_every_frame(tmp_path: Path, cli: SimpleNamespace,
                                  ref: SimpleNamespace) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    animation(folder / "anim.gif", gray_rgb(7))
    Image.fromarray(gray_rgb(8)[0]).save(folder / "still.png")
    stdout, _ = cli.ok("batch", folder, "-o", out, "-f", "box3", "--json")
    report = json.loads(stdout)
    assert report["written"] == 2 and report["failed"] == 0
    frames_in, _, _ = decoded(folder / "anim.gif")
    frames_out, durations, loop = decoded(out / "anim.gif")
    assert len(frames_out) == 3 and durations == DURATIONS and loop == 0
    for a, b in zip(frames_in, frames_out, strict=True):
        np.testing.assert_array_equal(b, box3(a, ref))
