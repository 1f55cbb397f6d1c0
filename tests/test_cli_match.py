"""``imgconv match`` through Typer's runner: output lines, JSON, exit codes, files written
(docs/semantics.md §8); scores checked against the library, which tests/test_matching.py
checks against its oracles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from skimage import data

import imgconv
from imgconv.cli import app

PATCH = (200, 180)  # (y, x) of the 64x64 patch cut from the astronaut


def run(*args: object) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    photo = data.astronaut()
    y, x = PATCH
    patch = photo[y:y + 64, x:x + 64]
    paths = {"photo": tmp_path / "astro.png", "patch": tmp_path / "patch.png",
             "grey": tmp_path / "camera.png"}
    Image.fromarray(photo).save(paths["photo"])
    Image.fromarray(patch).save(paths["patch"])
    Image.fromarray(data.camera()).save(paths["grey"])
    return paths


def test_help_lists_match_and_its_options():
    code, out, _ = run("--help")
    assert code == 0 and "match" in out
    code, out, _ = run("match", "--help")
    assert code == 0
    for flag in ("--method", "--top", "--min-score", "--min-distance", "--mask", "--no-mask",
                 "--map", "--annotate", "--json", "--page", "--memory-limit"):
        assert flag in out


def test_one_line_a_match(files):
    code, out, err = run("match", files["photo"], files["patch"])
    assert (code, out, err) == (0, "180 200 64 64 1.000000\n", "")
    code, out, _ = run("match", files["photo"], files["patch"], "--top", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[0] == "180 200 64 64 1.000000"
    scores = [float(line.split()[4]) for line in lines]
    assert scores == sorted(scores, reverse=True) and scores[1] < 0.9


def test_json_has_the_keys_and_the_librarys_numbers(files):
    code, out, _ = run("match", files["photo"], files["patch"], "--top", "2", "--json")
    assert code == 0
    obj = json.loads(out)
    assert list(obj) == ["image", "template", "method", "matches"]
    assert (obj["image"], obj["template"], obj["method"]) == (str(files["photo"]),
                                                              str(files["patch"]),
                                                              "ccoeff_normed")
    assert [list(m) for m in obj["matches"]] == [["x", "y", "width", "height", "score",
                                                  "x_subpixel", "y_subpixel"]] * 2
    photo = np.asarray(Image.open(files["photo"]))
    patch = np.asarray(Image.open(files["patch"]))
    lib = imgconv.find_peaks(imgconv.match_template(photo, patch), top=2, min_distance=32)
    assert [(m["y"], m["x"], m["score"]) for m in obj["matches"]] == [
        (m.y, m.x, m.score) for m in lib]
    assert obj["matches"][0]["x_subpixel"] == pytest.approx(180, abs=0.1)


def test_several_images_give_named_lines_and_json_lines(files, tmp_path):
    other = tmp_path / "other.png"
    photo = np.asarray(Image.open(files["photo"]))
    Image.fromarray(np.roll(photo, (7, -11), axis=(0, 1))).save(other)
    code, out, _ = run("match", files["photo"], other, files["patch"])
    assert code == 0
    assert out.splitlines() == [f"{files['photo']} 180 200 64 64 1.000000",
                                f"{other} 169 207 64 64 1.000000"]
    code, out, _ = run("match", files["photo"], other, files["patch"], "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [o["image"] for o in lines] == [str(files["photo"]), str(other)]
    assert [(o["matches"][0]["x"], o["matches"][0]["y"]) for o in lines] == [(180, 200),
                                                                             (169, 207)]


def test_no_match_passing_min_score_exits_1(files):
    code, out, err = run("match", files["photo"], files["patch"], "--top", "2",
                         "--min-score", "0.999")
    assert (code, out) == (0, "180 200 64 64 1.000000\n")
    code, out, err = run("match", files["grey"], files["grey"], files["patch"])
    assert code == 2  # a grey image, a colour template
    grey_patch = files["grey"].with_name("gpatch.png")
    Image.fromarray(np.full((20, 20), 255, np.uint8)).save(grey_patch)
    code, out, err = run("match", files["grey"], grey_patch, "-m", "sqdiff_normed",
                         "--min-score", "1e-9")
    assert (code, out) == (1, "")
    assert "no match with a score at most 1e-09" in err
    code, out, _ = run("match", files["grey"], grey_patch, "-m", "sqdiff", "--min-score", "1",
                       "--json")
    assert code == 1 and json.loads(out)["matches"] == []


@pytest.mark.parametrize(("args", "text"), [
    (["-m", "ccoef"], "--method ccoef is not a matching method"),
    (["--top", "0"], "--top 0 must be a whole number of at least 1"),
    (["--min-distance", "-2"], "--min-distance -2 must be a whole number"),
    (["--mask", "m.png", "--no-mask"], "--mask and --no-mask cannot be used together"),
    (["--memory-limit", "12MB", "--map", "out.jpg"], "--map out.jpg: write the scores as"),
])
def test_bad_options_exit_2_with_one_line(files, args, text, monkeypatch):
    monkeypatch.chdir(files["photo"].parent)
    code, out, err = run("match", files["photo"], files["patch"], *args)
    assert code == 2 and out == ""
    assert err.startswith("imgconv: error: ") and text in err and len(err.splitlines()) == 1
    code, out, err = run("match", files["photo"], files["patch"], *args, "--json")
    assert code == 2 and json.loads(out)["error"]["exit_code"] == 2


def test_bad_inputs_name_the_file(files, tmp_path):
    code, out, err = run("match", files["grey"], files["patch"])
    assert code == 2 and str(files["grey"]) in err and "grey image" in err
    code, out, err = run("match", tmp_path / "nope.png", files["patch"])
    assert code == 2 and "nope.png: no such file" in err
    code, out, err = run("match", files["patch"], files["photo"], "--json")
    assert code == 2 and "larger than the image" in json.loads(out)["error"]["message"]
    code, out, err = run("match", files["photo"])
    assert code == 2 and "then the template" in err


def test_the_templates_alpha_is_its_mask_unless_no_mask(files, tmp_path):
    photo = np.asarray(Image.open(files["photo"]))
    y, x = PATCH
    rgba = np.dstack([photo[y:y + 64, x:x + 64], np.full((64, 64), 255, np.uint8)])
    rgba[:24, :24, :3] = 255  # scribbled over ...
    rgba[:24, :24, 3] = 0  # ... and transparent there
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    code, out, _ = run("match", files["photo"], tmp_path / "alpha.png", "--json")
    masked = json.loads(out)["matches"][0]
    assert code == 0 and (masked["x"], masked["y"]) == (180, 200)
    assert masked["score"] == pytest.approx(1.0, abs=1e-12)
    code, out, _ = run("match", files["photo"], tmp_path / "alpha.png", "--no-mask", "--json")
    assert json.loads(out)["matches"][0]["score"] < 0.9


def test_an_8bit_mask_file_weighs_value_over_255(files, tmp_path):
    rng = np.random.default_rng(4)
    weights = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(weights).save(tmp_path / "w.png")
    code, out, _ = run("match", files["photo"], files["patch"], "--mask", tmp_path / "w.png",
                       "--top", "3", "--json")
    photo = np.asarray(Image.open(files["photo"]))
    patch = np.asarray(Image.open(files["patch"]))
    lib = imgconv.find_peaks(imgconv.match_template(photo, patch, mask=weights / 255),
                             top=3, min_distance=32)
    assert code == 0
    assert [(m["x"], m["y"], m["score"]) for m in json.loads(out)["matches"]] == [
        (m.x, m.y, m.score) for m in lib]
    Image.fromarray(weights[:30]).save(tmp_path / "short.png")
    code, _, err = run("match", files["photo"], files["patch"], "--mask", tmp_path / "short.png")
    assert code == 2 and "same size" in err


def test_map_and_annotate_are_written_and_readable(files, tmp_path):
    scores_tif, heat, boxes = tmp_path / "s.tif", tmp_path / "s.png", tmp_path / "boxes.png"
    code, out, _ = run("match", files["photo"], files["patch"], "--map", scores_tif,
                       "--annotate", boxes, "--top", "2")
    assert code == 0
    photo = np.asarray(Image.open(files["photo"]))
    patch = np.asarray(Image.open(files["patch"]))
    scores = tifffile.imread(scores_tif)
    assert scores.dtype == np.float32 and scores.shape == (449, 449)
    assert np.array_equal(scores, imgconv.match_template(photo, patch).astype(np.float32))
    drawn = np.asarray(Image.open(boxes))
    assert drawn.shape == photo.shape and drawn.dtype == np.uint8
    assert (drawn[200, 180:244] == (255, 0, 0)).all()  # the best box's top edge, red
    assert np.array_equal(drawn[300:400, 0:100], photo[300:400, 0:100])  # elsewhere: as is
    code, _, _ = run("match", files["photo"], files["patch"], "--map", heat)
    shown = np.asarray(Image.open(heat))
    assert code == 0 and shown.shape == (449, 449, 3) and shown.dtype == np.uint8
    code, _, err = run("match", files["photo"], files["patch"], "--map", heat)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    code, _, _ = run("match", files["photo"], files["patch"], "--map", heat, "--overwrite")
    assert code == 0
    code, _, err = run("match", files["photo"], files["patch"], "--annotate", files["photo"])
    assert code == 2 and "is an input" in err
    code, _, err = run("match", files["photo"], files["patch"], "--annotate", files["patch"],
                       "--overwrite")  # the template is an input too
    assert code == 2 and "is an input" in err
    code, _, err = run("match", files["photo"], files["patch"], "--map", tmp_path / "x.png",
                       "--annotate", tmp_path / "x.png")
    assert code == 2 and "same file" in err


def test_five_planted_copies_and_the_default_min_distance(tmp_path):
    rng = np.random.default_rng(8)
    image = rng.integers(60, 200, (260, 300), dtype=np.uint8)
    patch = data.camera()[200:232, 250:282]
    spots = [(10, 20), (15, 200), (120, 100), (200, 250), (220, 30)]
    for y, x in spots:
        image[y:y + 32, x:x + 32] = patch
    Image.fromarray(image).save(tmp_path / "five.png")
    Image.fromarray(patch).save(tmp_path / "p.png")
    code, out, _ = run("match", tmp_path / "five.png", tmp_path / "p.png", "--top", "5",
                       "--min-distance", "16")
    found = sorted((int(v[1]), int(v[0])) for v in (line.split() for line in out.splitlines()))
    assert code == 0 and found == sorted(spots)
    code, out, _ = run("match", tmp_path / "five.png", tmp_path / "p.png", "--top", "2")
    second = out.splitlines()[1].split()  # default min distance 16: not next to the first
    first = out.splitlines()[0].split()
    assert max(abs(int(first[0]) - int(second[0])), abs(int(first[1]) - int(second[1]))) > 16


def test_a_large_tiff_is_streamed_and_gives_the_same_answer(tmp_path):
    rng = np.random.default_rng(9)
    image = (rng.random((900, 700)) * 60 + np.linspace(0, 180, 700)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "big.tif", image)
    Image.fromarray(image[500:548, 300:340]).save(tmp_path / "t.png")
    whole = run("match", tmp_path / "big.tif", tmp_path / "t.png", "--top", "3", "--json",
                "--memory-limit", "none", "--map", tmp_path / "whole.tif")
    banded = run("match", tmp_path / "big.tif", tmp_path / "t.png", "--top", "3", "--json",
                 "--memory-limit", "10MB", "--map", tmp_path / "banded.tif")
    assert whole[0] == banded[0] == 0
    a, b = json.loads(whole[1])["matches"], json.loads(banded[1])["matches"]
    assert [(m["x"], m["y"]) for m in a] == [(m["x"], m["y"]) for m in b]
    assert (a[0]["x"], a[0]["y"]) == (300, 500)
    assert np.allclose([m["score"] for m in a], [m["score"] for m in b], rtol=0, atol=1e-12)
    ma, mb = tifffile.imread(tmp_path / "whole.tif"), tifffile.imread(tmp_path / "banded.tif")
    assert ma.shape == mb.shape == (853, 661) and np.max(np.abs(ma - mb)) <= 1e-6
    code, _, err = run("match", tmp_path / "big.tif", tmp_path / "t.png", "--memory-limit",
                       "10MB", "--map", tmp_path / "m.png")
    assert code == 2 and "write --map as .tif" in err


def test_pages_and_orientation_as_apply_reads_them(tmp_path):
    cam = data.camera()
    tifffile.imwrite(tmp_path / "pages.tif", np.stack([cam[::-1], cam]))
    Image.fromarray(cam[100:140, 200:250]).save(tmp_path / "t.png")
    code, _, err = run("match", tmp_path / "pages.tif", tmp_path / "t.png")
    assert code == 2 and "--page" in err
    code, out, _ = run("match", tmp_path / "pages.tif", tmp_path / "t.png", "--page", "1")
    assert (code, out.split()[:2]) == (0, ["200", "100"])
    exif = Image.Exif()
    exif[274] = 6  # stored sideways: a viewer turns it 90° clockwise
    Image.fromarray(np.rot90(cam)).save(tmp_path / "turned.png", exif=exif)
    code, out, _ = run("match", tmp_path / "turned.png", tmp_path / "t.png")
    assert (code, out.split()[:2]) == (0, ["200", "100"])


@pytest.mark.skipif(not hasattr(__import__("os"), "killpg"), reason="POSIX signals")
@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_stops_it_within_2s_leaving_no_partial_map(tmp_path, sig, code):
    import os
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(12)
    tifffile.imwrite(tmp_path / "big.tif", rng.integers(0, 256, (3000, 3000), dtype=np.uint8))
    Image.fromarray(rng.integers(0, 256, (100, 100), dtype=np.uint8)).save(tmp_path / "t.png")
    proc = subprocess.Popen([sys.executable, "-m", "imgconv", "match", "big.tif", "t.png",
                             "--memory-limit", "20MB", "--map", "scores.tif"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    end = time.monotonic() + 60
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):  # the map began
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end
        time.sleep(0.01)
    t0 = time.monotonic()
    os.killpg(proc.pid, getattr(signal, sig))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code and time.monotonic() - t0 < 2.0
    assert err.strip().splitlines() == [f"imgconv: error: interrupted by {sig}; no partial "
                                        "output was left"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif", "t.png"]


def test_the_cli_method_list_is_the_library_table() -> None:
    """``--method``'s list (kept in cli/match.py so that --help loads no numpy) names
    exactly the methods of the table in scoring.py (docs/architecture.md, "Where to add")."""
    from imgconv.cli.match import METHOD_NAMES
    from imgconv.scoring import METHODS

    assert sorted(METHOD_NAMES) == sorted(METHODS) and METHOD_NAMES[0] == "ccoeff_normed"


# -- new-user findings: folders, help texts, the option named, flat templates, --min-score ------

def _two_images(files, tmp_path):
    """Two colour images holding the patch (one shifted): ``(astro.png, other.png)``."""
    other = tmp_path / "other.png"
    Image.fromarray(np.roll(np.asarray(Image.open(files["photo"])), (7, -11),
                            axis=(0, 1))).save(other)
    return files["photo"], other


def test_several_images_create_the_folders_they_name(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo, other = _two_images(files, tmp_path)
    code, out, err = run("match", photo, other, files["patch"], "--annotate", "boxes/",
                         "--map", "maps")  # a trailing / or not: several images, folders
    assert (code, err) == (0, "")
    assert sorted(p.name for p in (tmp_path / "boxes").iterdir()) == [
        "astro.matches.png", "other.matches.png"]
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == [
        "astro.scores.tif", "other.scores.tif"]
    lib = imgconv.match_template(np.asarray(Image.open(other)),
                                 np.asarray(Image.open(files["patch"])))
    assert np.array_equal(tifffile.imread(tmp_path / "maps" / "other.scores.tif"),
                          lib.astype(np.float32))
    drawn = np.asarray(Image.open(tmp_path / "boxes" / "other.matches.png"))
    assert (drawn[207, 169:233] == (255, 0, 0)).all()  # the box at (169, 207), red
    code, _, err = run("match", photo, other, files["patch"], "--map", "maps")
    assert code == 2 and err == ("imgconv: error: maps/astro.scores.tif: already exists (use "
                                 "--overwrite to replace it)\n")
    code, _, err = run("match", photo, other, files["patch"], "--map", "deep/er/maps")
    assert code == 0 and (tmp_path / "deep/er/maps/astro.scores.tif").is_file()


def test_one_image_and_a_trailing_slash_is_a_folder(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("match", files["photo"], files["patch"], "--map", "newmaps/",
                       "--annotate", "newboxes/")
    assert (code, out) == (0, "180 200 64 64 1.000000\n")
    assert [p.name for p in (tmp_path / "newmaps").iterdir()] == ["astro.scores.tif"]
    assert [p.name for p in (tmp_path / "newboxes").iterdir()] == ["astro.matches.png"]
    code, _, err = run("match", files["photo"], files["patch"], "--map", "plain")
    assert code == 2 and err == ("imgconv: error: --map plain: has no extension and is not a "
                                 "folder: give a file name like scores.tif, or end a folder's "
                                 "name with / (plain/)\n")
    code, _, err = run("match", files["photo"], files["patch"], "--annotate", "plain")
    assert code == 2 and err == ("imgconv: error: --annotate plain: has no extension and is "
                                 "not a folder: give a file name like boxes.png, or end a "
                                 "folder's name with / (plain/)\n")
    assert not (tmp_path / "plain").exists()


def test_a_folder_that_cannot_be_one_is_refused_before_any_work(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo, other = _two_images(files, tmp_path)
    (tmp_path / "taken.png").write_bytes(b"x")
    code, out, err = run("match", photo, other, files["patch"], "--map", "taken.png")
    assert (code, out) == (2, "")
    assert err == ("imgconv: error: --map taken.png: is a file, not a folder: give --map a "
                   "folder (with several images, or a name ending in /; it is created if "
                   "missing)\n")
    code, _, err = run("match", photo, files["patch"], "--annotate", "taken.png/")
    assert code == 2 and err.startswith("imgconv: error: --annotate taken.png/: is a file")
    (tmp_path / "b").mkdir()
    Image.open(photo).save(tmp_path / "b" / "astro.png")
    code, out, err = run("match", photo, tmp_path / "b" / "astro.png", files["patch"],
                         "--annotate", "boxes/", "--json")
    assert code == 2 and err == (
        "imgconv: error: boxes/astro.matches.png: two images would write the same --annotate "
        "file (their names differ only in their folder or extension): match them in "
        "separate runs\n")
    assert json.loads(out)["error"]["file"] == "boxes/astro.matches.png"
    code, _, err = run("match", photo, other, files["patch"], "--map", "maps/", "--annotate",
                       "boxes/", "--min-score", "2")  # refused: nothing created
    assert code == 2 and not (tmp_path / "maps").exists() and not (tmp_path / "boxes").exists()


def test_an_unwritable_place_for_a_folder_names_the_option(files, tmp_path, monkeypatch):
    import imgconv.outputs

    monkeypatch.chdir(tmp_path)
    real = os.access
    monkeypatch.setattr(imgconv.outputs.os, "access",  # tmp_path read-only, as a non-root sees
                        lambda p, mode: real(p, mode) and not (str(p) == str(tmp_path)
                                                               and mode & os.W_OK))
    photo, other = _two_images(files, tmp_path)
    code, _, err = run("match", photo, other, files["patch"], "--annotate", "boxes")
    assert code == 2 and err == (
        f"imgconv: error: boxes: cannot write in the folder {tmp_path} (read-only or not "
        "permitted): choose another output folder with --annotate\n")


def test_an_input_is_refused_naming_the_option_given(files, tmp_path):
    code, out, err = run("match", files["photo"], files["patch"], "--annotate", files["photo"])
    assert (code, out) == (2, "")
    assert err == (f"imgconv: error: {files['photo']}: is an input; refusing to overwrite it "
                   "(choose another output with --annotate)\n")
    code, out, err = run("match", files["photo"], files["patch"], "--map", files["patch"],
                         "--overwrite", "--json")
    assert code == 2 and err == (f"imgconv: error: {files['patch']}: is an input; refusing to "
                                 "overwrite it (choose another output with --map)\n")
    assert json.loads(out)["error"] == {"message": err[len("imgconv: error: "):-1],
                                        "exit_code": 2, "file": str(files["patch"])}


def test_help_texts_are_matchs_own():
    code, out, _ = run("match", "--help")
    text = " ".join(out.split())
    assert code == 0
    for apply_only in ("every page or frame is filtered", "streamed to a .tif/.npy output",
                       "before filtering", "an existing folder"):
        assert apply_only not in text
    for own in ("--page <int> Search this page (0-based) of each multi-page TIFF or animated "
                "GIF/WebP image; without it such an image is refused.",
                "beyond it the image is matched in bands with a template-sized overlap.",
                "by their EXIF orientation before matching",
                "With several images, or a name ending in /: a folder (created if missing), "
                "STEM.scores.tif in it."):
        assert own in text
    code, out, _ = run("apply", "--help")  # apply keeps its own
    assert code == 0 and "every page or frame is filtered" in " ".join(out.split())


FLAT_NOTE = ("{t}: the template has no contrast{under} (it is uniform): --method ccoeff_normed "
             "scores 0 in every window, so the match reported is arbitrary (use --method "
             "ccorr_normed or --method sqdiff)")


def test_a_flat_template_gets_a_note_and_json_notes(files, tmp_path):
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(flat)
    note = FLAT_NOTE.format(t=flat, under="")
    code, out, err = run("match", files["grey"], flat)
    assert (code, out, err) == (0, "0 0 20 20 0.000000\n", f"note: {note}\n")
    code, out, err = run("match", files["grey"], flat, "--json")
    obj = json.loads(out)
    assert (code, err) == (0, "") and list(obj)[-1] == "notes" and obj["notes"] == [note]
    code, out, err = run("match", files["grey"], flat, "-q")
    assert (code, out, err) == (0, "", "")
    code, out, err = run("match", files["grey"], flat, "-m", "ccorr_normed", "--json")
    assert code == 0 and err == "" and "notes" not in json.loads(out)  # not flat for ccorr
    other = tmp_path / "cam2.png"
    Image.fromarray(data.camera()[::-1]).save(other)
    code, out, err = run("match", files["grey"], other, flat)  # said once on stderr ...
    assert code == 0 and err == f"note: {note}\n" and len(out.splitlines()) == 2
    code, out, err = run("match", files["grey"], other, flat, "--json")  # ... in each object
    assert [json.loads(line)["notes"] for line in out.splitlines()] == [[note], [note]]


def test_a_template_flat_under_its_mask_or_black_gets_its_note(files, tmp_path):
    rgba = np.zeros((24, 24, 4), np.uint8)
    rgba[..., :3] = np.random.default_rng(1).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    rgba[4:20, 4:20, :3] = 90  # uniform where it is opaque
    rgba[4:20, 4:20, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "masked.png")
    code, _, err = run("match", files["photo"], tmp_path / "masked.png")
    assert code == 0
    assert err == "note: " + FLAT_NOTE.format(t=tmp_path / "masked.png",
                                              under=" under its mask") + "\n"
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(black)
    code, _, err = run("match", files["grey"], black, "-m", "ccorr_normed")
    assert code == 0 and err == (
        f"note: {black}: the template is all zero (black): --method ccorr_normed scores 0 in "
        "every window, so the match reported is arbitrary (use --method sqdiff)\n")
    code, _, err = run("match", files["grey"], black, "-m", "sqdiff")  # still ranks windows
    assert (code, err) == (0, "")


def test_flatness_is_the_librarys_test(files, tmp_path):
    """A float template whose contrast is below the library's threshold is flat (scores 0,
    the note), one just above it is not: the note follows Setup.t_flat, not 'all equal'."""
    from imgconv.bands import ArraySource
    from imgconv.matching import prepare

    cam = data.camera()
    for bump, flat in ((1e-7, True), (1e-2, False)):
        tpl = np.full((20, 20), 100.0, np.float32)
        tpl[3, 5] += bump
        tifffile.imwrite(tmp_path / "t.tif", tpl)
        assert prepare(ArraySource(cam), tpl).setup.t_flat is flat
        code, out, err = run("match", files["grey"], tmp_path / "t.tif", "--json")
        assert code == 0 and ("notes" in json.loads(out)) is flat
        assert ("no contrast" in err) is False  # --json: notes in the object only
        assert (json.loads(out)["matches"][0]["score"] == 0.0) is flat


@pytest.mark.parametrize(("method", "score", "message"), [
    ("ccoeff_normed", "2", "--min-score 2 is outside -1..1, the range of --method "
     "ccoeff_normed scores: no window can reach it"),
    ("ncc", "1.5", "--min-score 1.5 is outside -1..1, the range of --method ccoeff_normed "
     "scores: no window can reach it"),
    ("ccorr_normed", "-3", "--min-score -3 is outside -1..1, the range of --method "
     "ccorr_normed scores: every window passes it (leave it out to keep them all)"),
    ("sqdiff", "-1", "--min-score -1 is below 0, and --method sqdiff scores are at least 0 "
     "(0: identical; for sqdiff* --min-score is a maximum): no window can reach it"),
    ("sqdiff_normed", "-0.5", "--min-score -0.5 is below 0, and --method sqdiff_normed scores "
     "are at least 0 (0: identical; for sqdiff* --min-score is a maximum): no window can "
     "reach it"),
])
def test_a_min_score_outside_the_methods_range_is_refused(files, method, score, message):
    code, out, err = run("match", files["photo"], files["patch"], "-m", method,
                         "--min-score", score)
    assert (code, out, err) == (2, "", f"imgconv: error: {message}\n")
    code, out, _ = run("match", files["photo"], files["patch"], "-m", method, "--min-score",
                       score, "--json")
    assert code == 2 and json.loads(out)["error"]["message"] == message


@pytest.mark.parametrize(("method", "score"), [
    ("ccoeff_normed", "-1"), ("ccorr_normed", "1"), ("sqdiff", "0"), ("sqdiff_normed", "1e9"),
    ("ccorr", "-1e12"), ("ccoeff", "1e12")])
def test_a_min_score_in_range_or_unbounded_is_taken(files, method, score):
    code, _, err = run("match", files["photo"], files["patch"], "-m", method, "--min-score",
                       score)
    assert code in (0, 1) and "error" not in err


def test_a_palette_tiff_over_the_limit_is_matched_in_colour_not_as_indices(tmp_path):
    """A palette (or CMYK, Lab…) TIFF is not streamed as stored values: under a memory
    limit it is read whole as apply reads it (it was streamed as palette indices: a
    colour template was refused as 'against a grey image')."""
    rng = np.random.default_rng(4)
    rgb = (rng.random((900, 700, 3)) * 255).astype(np.uint8)
    pal = Image.fromarray(rgb).quantize(64)
    pal.save(tmp_path / "pal.tif")
    colour = np.asarray(Image.open(tmp_path / "pal.tif").convert("RGB"))
    Image.fromarray(colour[500:548, 300:340]).save(tmp_path / "t.png")
    for limit in ("none", "10MB"):
        code, out, err = run("match", tmp_path / "pal.tif", tmp_path / "t.png", "--json",
                             "--memory-limit", limit)
        best = json.loads(out)["matches"][0]
        assert code == 0, err
        assert (best["x"], best["y"], round(best["score"], 9)) == (300, 500, 1.0)
