"""``imgconv match``: find a template in images (docs/semantics.md §8).

Every check before any work (inputs exist, options valid, outputs new); each image is
then read as ``apply`` reads it (orientation, ``--page``, the pixel guard) — or, when it
is a TIFF or ``.npy`` over the memory budget, streamed band by band: its scores are
computed a band at a time (:meth:`imgconv.matching.MatchPlan.bands`), fed to the peak
finder (:class:`imgconv.peaks.PeakFinder`) and, with ``--map x.tif``, written as they
come; the whole score map is never held.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import imgconv.cli.common as common
import imgconv.cli.flags as flags
from imgconv.errors import ImgconvError, Mention, Message, WorkError, verbatim

if TYPE_CHECKING:
    from collections.abc import Iterator

    from imgconv.matching import Rows
    from imgconv.peaks import Match

MAP_FORMATS = (".tif", ".tiff", ".npy", ".png")
METHOD_NAMES = ("ccoeff_normed", "ccoeff", "ccorr_normed", "ccorr", "sqdiff_normed", "sqdiff")


@dataclass(frozen=True)
class Settings:
    """One ``match`` run, checked."""

    method: str
    top: int
    min_score: float | None
    min_distance: int | None
    page: int | None
    limit: int | None
    auto_orient: bool
    overwrite: bool


@dataclass
class Template:
    """The template as matched: its pixels, its mask (or None), its name."""

    path: Path
    array: Any
    mask: Any

    @property
    def size(self) -> tuple[int, int]:
        return int(self.array.shape[0]), int(self.array.shape[1])


@dataclass
class Found:
    """What one image gave."""

    image: Path
    matches: list[Match]
    notes: list[str] = field(default_factory=list)  # library spelling (common.spoken)

    def to_json(self, template: Template, method: str) -> dict[str, object]:
        """The ``--json`` object; ``notes`` (as the command line says them) only when
        there are some."""
        h, w = template.size
        obj: dict[str, object] = {
            "image": common.shown(self.image), "template": common.shown(template.path),
            "method": method,
            "matches": [{"x": m.x, "y": m.y, "width": w, "height": h, "score": m.score,
                         "x_subpixel": m.x_subpixel, "y_subpixel": m.y_subpixel}
                        for m in self.matches]}
        if self.notes:
            obj["notes"] = [common.shown(common.spoken(n)) for n in self.notes]
        return obj


@common.handle_errors
def match(
    paths: Annotated[list[Path], typer.Argument(
        help="The images to search (files or quoted globs), then the template (last).",
        show_default=False)],
    method: Annotated[str, typer.Option(
        "-m", "--method", metavar="[" + "|".join(METHOD_NAMES) + "]",
        help="How similar a window is (OpenCV's TM_* formulas): ccoeff_normed (zero-mean "
        "normalized cross-correlation, also ncc/zncc/normxcorr2: -1..1, 1 a perfect match, "
        "indifferent to brightness and contrast), ccorr_normed, sqdiff_normed, or their "
        "unnormalized forms. sqdiff*: smaller is better.")] = "ccoeff_normed",
    top: Annotated[int, typer.Option("--top", help="Report at most this many matches an "
                                     "image, best first.")] = 1,
    min_score: Annotated[float | None, typer.Option(
        "--min-score", help="Report only matches at least this good (at most this for "
        "sqdiff*); an image with none exits 1.", show_default=False)] = None,
    min_distance: Annotated[int | None, typer.Option(
        "--min-distance", help="Matches closer than this (in pixels, either axis) to a "
        "better one are not reported. Default: half the template's smaller side.",
        show_default=False)] = None,
    mask: Annotated[Path | None, typer.Option(
        "--mask", help="Weights of the template's pixels (a grey image of its size; 8-bit: "
        "value/255). Default: the template's alpha channel, if it has one.",
        show_default=False)] = None,
    no_mask: Annotated[bool, typer.Option("--no-mask", help="Ignore the template's alpha "
                                          "channel.")] = False,
    map_: Annotated[str | None, typer.Option(
        "--map", metavar="FILE|FOLDER/", help="Write the score map: float32 .tif (or .npy), "
        "or a .png heat map (bright: good). With several images, or a name ending in /: a "
        "folder (created if missing), STEM.scores.tif in it.", show_default=False)] = None,
    annotate: Annotated[str | None, typer.Option(
        "--annotate", metavar="FILE|FOLDER/", help="Write the image with a box drawn around "
        "each match. With several images, or a name ending in /: a folder (created if "
        "missing), STEM.matches.EXT in it.", show_default=False)] = None,
    page: flags.MatchPage = None,
    memory_limit: flags.MatchMemoryLimit = None,
    auto_orient: flags.MatchAutoOrient = True,
    overwrite: flags.Overwrite = False,
    json_: flags.Json = False,
    verbose: flags.Verbose = False,
    quiet: flags.Quiet = False,
) -> None:
    """Find a template in images: one line per match, 'x y width height score'.

    Exit 0 when every image has a match (passing --min-score), 1 when one has none (-q:
    only the exit code).

    Example: imgconv match photo.jpg logo.png --top 3 --annotate boxes.png
    """
    if len(paths) < 2:
        raise ImgconvError("name the images to search and then the template (at least two "
                           "files)")
    if mask is not None and no_mask:
        raise ImgconvError("{mask!s} and {no_mask} cannot be used together: --mask FILE gives "
                           "the weights, --no-mask ignores the template's alpha",
                           values={"mask": "", "no_mask": True})
    images, template_path = _inputs(paths)
    settings = _settings(method, top, min_score, min_distance, page, memory_limit,
                         auto_orient, overwrite)
    inputs = [*images, template_path, *([mask] if mask is not None else [])]
    maps, boxes = _outputs(map_, annotate, images, inputs, overwrite)
    template = _template(template_path, mask, no_mask, settings)
    found: list[Found] = []
    said: set[str] = set()
    for i, image in enumerate(images):
        try:
            result = _one(image, template, settings, maps[i], boxes[i])
        except ImgconvError as exc:
            raise exc.about(image) from exc.__cause__
        found.append(result)
        if json_ or not quiet:
            _render(result, template, settings, several=len(images) > 1, json_=json_,
                    said=said)
    if any(not f.matches for f in found):
        raise typer.Exit(1)


def _settings(method: str, top: int, min_score: float | None, min_distance: int | None,
              page: int | None, memory_limit: str | None, auto_orient: bool,
              overwrite: bool) -> Settings:
    """The run's settings, checked: a known method, valid peak options, a ``--min-score``
    that the method's scores can reach (and that does not let every window through)."""
    from imgconv.matching import canonical_method
    from imgconv.peaks import PeakFinder

    name = canonical_method(method)
    PeakFinder(1, top=top, min_score=min_score, min_distance=min_distance, method=name)
    return Settings(name, top, min_score, min_distance, page,
                    common.memory_bytes(memory_limit), auto_orient, overwrite)


def _inputs(paths: list[Path]) -> tuple[list[Path], Path]:
    """The images (globs expanded) and the template; every one an existing file."""
    from imgconv.cli.apply import _existing_input, expand_globs

    images = expand_globs(paths[:-1])
    template = paths[-1]
    for p in (*images, template):
        _existing_input(p)
    return images, template


def _outputs(map_: str | None, annotate: str | None, images: list[Path], inputs: list[Path],
             overwrite: bool) -> tuple[list[Path | None], list[Path | None]]:
    """Where ``--map`` and ``--annotate`` write for each image, checked; never one file."""
    from imgconv.outputs import same_file

    maps = _targets(map_, images, inputs, overwrite, kind="map")
    boxes = _targets(annotate, images, inputs, overwrite, kind="annotate")
    for m, b in zip(maps, boxes, strict=True):
        if m is not None and b is not None and same_file(m, b):
            raise ImgconvError("{map!s} and {annotate!s} name the same file ({file}): give "
                               "each its own", values={"map": "", "annotate": ""}, file=m)
    return maps, boxes


#: what ``--map`` / ``--annotate`` add to an image's stem in a folder, and a file name
#: to suggest
_TAGS = {"map": ("scores", "scores.tif"), "annotate": ("matches", "boxes.png")}


def _targets(option: str | None, images: list[Path], inputs: list[Path], overwrite: bool,
             *, kind: str) -> list[Path | None]:
    """Where ``--map`` / ``--annotate`` (``kind``) write for each image (None: nowhere),
    checked before any work: never over one of the ``inputs``.

    The option names a folder when there are several images, when it names one, or when
    it ends in ``/``: a folder that does not exist yet is created when its first file is
    written (as ``batch -o``); ``STEM.scores.tif`` and ``STEM.matches.EXT`` go in it."""
    from imgconv.outputs import check_name, safe_name

    if option is None:
        return [None] * len(images)
    path = Path(option)
    check_name(path)
    seps = tuple(s for s in (os.sep, os.altsep) if s)
    if len(images) == 1 and not path.is_dir() and not option.endswith(seps):
        if not path.suffix:
            raise ImgconvError(f"{{{kind}}}: has no extension and is not a folder: give a "
                               f"file name like {_TAGS[kind][1]}, or end a folder's name with "
                               f"/ ({option}/)", values={kind: option}, file=path)
        targets = [path]
    else:
        _check_folder(path, option, kind)
        tag, ext = _TAGS[kind][0], ".tif" if kind == "map" else None
        targets = [path / f"{safe_name(p.stem)}.{tag}{ext or p.suffix.lower()}" for p in images]
    for i, t in enumerate(targets):
        _check_target(t, inputs, overwrite, targets[:i], kind)
    return list(targets)


def _check_folder(path: Path, option: str, kind: str) -> None:
    """``path`` can be the folder of ``--map`` / ``--annotate``: one, or nothing yet in a
    place where it can be created."""
    from imgconv.outputs import check_folder

    if path.exists() and not path.is_dir():
        raise ImgconvError(f"{{{kind}[0]}}: is a file, not a folder: give {{{kind}[1]!s}} "
                           "a folder (with several images, or a name ending in /; it is "
                           "created if missing)", values={kind: (option, "")}, file=path)
    try:
        check_folder(path)
    except ImgconvError as exc:
        raise _as_option(exc, kind) from None


def _check_target(target: Path, inputs: list[Path], overwrite: bool, earlier: list[Path],
                  kind: str) -> None:
    """One file of ``--map`` / ``--annotate``: its format, not an input, new (unless
    ``overwrite``), not one an earlier image writes; as ``apply -o`` checks, the errors
    naming ``kind``'s option."""
    from imgconv.formats import output_format
    from imgconv.outputs import check_name, check_target, same_file

    if kind == "map" and target.suffix.lower() not in MAP_FORMATS:
        raise ImgconvError("{map}: write the scores as .tif, .npy (float32) or .png (a heat "
                           "map)", values={"map": str(target)}, file=target)
    if any(same_file(target, e) for e in earlier):
        raise ImgconvError(f"{{file}}: two images would write the same {{{kind}!s}} file "
                           "(their names differ only in their folder or extension): match "
                           "them in separate runs", values={kind: ""}, file=target)
    try:
        if target.parent.is_dir():
            check_target(target, inputs, overwrite=overwrite)
        else:  # in a folder this run creates: nothing there yet
            check_name(target)
            output_format(target)
    except ImgconvError as exc:
        raise _as_option(exc, kind) from None


def _as_option(exc: ImgconvError, kind: str) -> ImgconvError:
    """``exc`` (raised for ``apply``'s ``-o``) with its mentions of ``output`` made
    mentions of ``kind`` (``--map``, ``--annotate``): match has no ``-o``."""
    if "output" not in exc.params:
        return exc
    return exc.saying(Message.of(Mention(kind, p.text) if isinstance(p, Mention) and
                                 p.param == "output" else p for p in exc.message.parts),
                      tuple(dict.fromkeys(kind if p == "output" else p for p in exc.params)))


def _template(path: Path, mask: Path | None, no_mask: bool, s: Settings) -> Template:
    """The template's pixels, and its mask: ``--mask``, else its alpha (unless
    ``--no-mask``); an opaque alpha is no mask."""
    import numpy as np

    from imgconv.dtypes import dtype_max
    from imgconv.formats import read_image

    try:
        img = read_image(path, auto_orient=s.auto_orient)
        if img.pages > 1:
            raise ImgconvError(f"{{file}}: has {img.pages} pages or frames: a template is one "
                               "image", file=path)
        arr, weights = img.array, None
        if img.has_alpha:
            arr, alpha = arr[..., :-1], arr[..., -1]
            if arr.shape[-1] == 1:
                arr = arr[..., 0]
            if not no_mask and mask is None:
                weights = alpha.astype(np.float64) / dtype_max(alpha.dtype)
                weights = None if (weights == 1).all() else weights
    except ImgconvError as exc:
        raise exc.about(path) from exc.__cause__
    if mask is not None:
        weights = _mask_file(mask, s)
        if weights.shape != arr.shape[:2]:
            raise ImgconvError(f"{{file}}: the mask is {weights.shape[1]}x{weights.shape[0]} "
                               f"but the template {path} is {arr.shape[1]}x{arr.shape[0]}: "
                               "they must have the same size", file=mask)
    return Template(path, arr, weights)


def _mask_file(path: Path, s: Settings) -> Any:
    """A grey image as weights: integers divided by their maximum (value/255 for 8-bit)."""
    import numpy as np

    from imgconv.dtypes import dtype_max
    from imgconv.formats import read_image

    try:
        img = read_image(path, auto_orient=s.auto_orient)
        arr = img.array
        if img.has_alpha and arr.ndim == 3 and arr.shape[2] == 2:
            arr = arr[..., 0]
        if img.pages > 1 or arr.ndim != 2:
            raise ImgconvError("{file}: a mask must be one grey image (weights 0..1)", file=path)
        top = dtype_max(arr.dtype) if arr.dtype.kind in "ui" else 1.0
        return arr.astype(np.float64) / top
    except ImgconvError as exc:
        raise exc.about(path) from exc.__cause__


def _one(image: Path, template: Template, s: Settings, map_to: Path | None,
         boxes_to: Path | None) -> Found:
    """Match one image: its peaks and notes, its map and annotation when asked."""
    from imgconv.matching import prepare, refine
    from imgconv.peaks import PeakFinder

    notes: list[str] = []
    rows, array = _open(image, template, s, notes)
    streamed_map = map_to is not None and array is None
    if streamed_map and map_to is not None and map_to.suffix.lower() not in (".tif", ".tiff"):
        raise ImgconvError(f"{{file}}: is matched in bands (over {{memory_limit!s}}): write "
                           f"{{map!s}} as .tif, which is written as it is computed (not "
                           f"{map_to.suffix})", values={"memory_limit": "", "map": ""},
                           file=image)
    if boxes_to is not None:
        _check_annotation(boxes_to, rows)
    h, w = template.size
    ho, wo = rows.shape[0] - h + 1, rows.shape[1] - w + 1
    channels = rows.shape[2] if len(rows.shape) == 3 else 1
    row_bytes = 8 * wo + rows.shape[1] * channels * rows.dtype.itemsize + (
        4 * wo if map_to is not None else 0)
    plan = prepare(rows, template.array, method=s.method, mask=template.mask,
                   memory_limit=s.limit, row_bytes=row_bytes)
    if plan.setup.t_flat:
        notes += _flat_template(template, s.method)
    finder = PeakFinder(wo, top=s.top, min_score=s.min_score, method=s.method,
                        min_distance=min(h, w) // 2 if s.min_distance is None
                        else s.min_distance)
    bands = _feeding(plan.bands(rows), finder)
    if map_to is None:
        for _ in bands:
            pass
    else:
        _make_folder(map_to.parent, "map")
        _write_map(map_to, bands, (ho, wo), s, image)
    found = Found(image, refine(rows, template.array, finder.finish(), method=s.method,
                                mask=template.mask), notes)  # sub-pixel: on the image itself
    if boxes_to is not None:
        _make_folder(boxes_to.parent, "annotate")
        _annotate(boxes_to, image, array, template, found.matches, s)
    return found


def _flat_template(template: Template, method: str) -> list[Message]:
    """The note for a template the library found flat (:attr:`imgconv.scoring.Setup.t_flat`:
    its part of the denominator is numerically zero): every window scores 0 under
    ``method``, the match reported is arbitrary.  No note for ``sqdiff``, whose scores still
    rank the windows (by their energy)."""
    if method == "sqdiff":
        return []
    under = " under its mask" if template.mask is not None else ""
    others: tuple[str, ...]
    if method.startswith("ccoeff"):
        what, others = f"has no contrast{under} (it is uniform)", ("ccorr_normed", "sqdiff")
    else:
        what, others = f"is all zero (black){under}", ("sqdiff",)
    score = "0" if method.endswith("_normed") else "about 0"
    use = " or ".join(f"{{method[{i + 1}]!s}}" for i in range(len(others)))
    return [Message(f"{{file}}: the template {what}: {{method[0]!s}} scores {score} in every "
                    f"window, so the match reported is arbitrary (use {use})",
                    {"method": (method, *others)}, text={"file": str(template.path)})]


def _make_folder(folder: Path, kind: str) -> None:
    """Create the folder of ``--map`` / ``--annotate`` if it is not there yet (checked
    writable before any work, as ``batch -o``)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkError(f"{{file}}: cannot create the folder "
                        f"({verbatim(exc.strerror or exc)}): choose another folder for "
                        f"{{{kind}!s}}", values={kind: ""}, file=folder) from None


def _feeding(bands: Iterator[tuple[int, Any]], finder: Any) -> Iterator[Any]:
    """The score bands, each fed to the peak finder on its way."""
    for _, band in bands:
        finder.feed(band)
        yield band


class _Colour:
    """Rows of a streamed image without its alpha channel."""

    def __init__(self, source: Any, channels: int):
        self.source, self.channels = source, channels
        self.shape = (*source.shape[:2], channels) if channels > 1 else tuple(
            source.shape[:2])
        self.dtype = source.dtype

    def read(self, y0: int, y1: int) -> Any:
        rows = self.source.read(y0, y1)
        return rows[..., :self.channels] if self.channels > 1 else rows[..., 0]


def _open(image: Path, template: Template, s: Settings,
          notes: list[str]) -> tuple[Rows, Any]:
    """The image's rows and, when it is read whole, its array (None when streamed); a
    note added to ``notes`` when its alpha channel is left out.

    A TIFF or ``.npy`` (one page) whose working set would exceed the memory limit is
    streamed, unless an EXIF orientation must turn it; anything else is read whole as
    ``apply`` reads it."""
    from imgconv.bands import ArraySource

    alpha = f"{image}: its alpha channel is left out: the colour is matched"
    streamed = _stream(image, s)
    if streamed is not None:
        if isinstance(streamed, _Colour):
            notes.append(alpha)
        return streamed, None
    from imgconv.formats import read_image

    img = read_image(image, page=s.page, auto_orient=s.auto_orient)
    if img.pages > 1:
        raise ImgconvError(f"{{file}}: has {img.pages} pages or frames: match one: pick it "
                           "with {page!s}", values={"page": "N"}, file=image)
    arr = img.array
    if img.has_alpha:
        arr = arr[..., :-1] if arr.shape[-1] > 2 else arr[..., 0]
        notes.append(alpha)
    return ArraySource(arr), arr


def _stream(image: Path, s: Settings) -> Rows | None:
    """The rows of ``image`` read band by band, when it must and can be (else None)."""
    from imgconv.bands import header_shape, needs_tiling, open_source, streamable
    from imgconv.formats import file_meta, orientation

    if s.limit is None or not streamable(image, s.page):  # e.g. a palette TIFF: whole
        return None
    try:
        shape, dtype, pages = header_shape(image, s.page)
    except ImgconvError:
        return None  # the ordinary reader says what is wrong
    if (pages > 1 and s.page is None) or not needs_tiling(shape, dtype, "double", s.limit):
        return None
    if s.auto_orient and orientation(file_meta(image, s.page)) != 1:
        return None  # turned upright whole, as apply does under the default limit
    source = open_source(image, s.page)
    channels = shape[2] if len(shape) == 3 else 1
    if getattr(source, "has_alpha", False):
        return _Colour(source, channels - 1)
    return source


def _check_annotation(target: Path, rows: Rows) -> None:
    """The annotated copy (RGB, the image's dtype) must fit the output's format."""
    from imgconv.formats import check_output_dtype

    check_output_dtype(target, str(rows.dtype))


def _write_map(target: Path, bands: Iterator[Any], shape: tuple[int, int], s: Settings,
               image: Path) -> None:
    """The score map: float32 TIFF (streamed), ``.npy``, or a PNG heat map."""
    import numpy as np

    from imgconv.outputs import atomic_write, write_image

    ext = target.suffix.lower()
    if ext in (".tif", ".tiff"):
        from imgconv.bands.sinks import rebanded, write_stream

        def write(tmp: str) -> None:
            pieces = rebanded(bands, lambda b: b.astype(np.float32))
            write_stream(tmp, ".tif", shape, np.dtype(np.float32), pieces)

        atomic_write(target, write, overwrite=s.overwrite)
        return
    scores = np.empty(shape, dtype=np.float32)
    y = 0
    for band in bands:
        scores[y:y + band.shape[0]] = band
        y += band.shape[0]
    if ext == ".png":
        from imgconv.matching import SMALLER_IS_BETTER
        from imgconv.viz.colormaps import colorize_abs

        good = -scores if s.method in SMALLER_IS_BETTER else scores
        write_image(target, colorize_abs(good - good.min()), overwrite=s.overwrite,
                    protect=(image,))
    else:
        write_image(target, scores, overwrite=s.overwrite, protect=(image,))


def _annotate(target: Path, image: Path, array: Any, template: Template,
              matches: list[Match], s: Settings) -> None:
    """A copy of the image (RGB) with a box and its score drawn at each match."""
    import cv2
    import numpy as np

    from imgconv.dtypes import dtype_max
    from imgconv.outputs import write_image

    if array is None:  # streamed: read it whole for the drawing
        from imgconv.formats import read_image

        array = read_image(image, page=s.page, auto_orient=s.auto_orient).array
    rgb = np.array(np.repeat(array[..., None], 3, axis=2) if array.ndim == 2
                   else array[..., :3], order="C", copy=True)
    top = dtype_max(rgb.dtype) if rgb.dtype.kind in "ui" else 1.0
    h, w = template.size
    thick = max(1, round(min(rgb.shape[:2]) / 400))
    for rank, m in enumerate(matches):
        colour = (top, 0, 0) if rank == 0 else (0, top, 0)
        cv2.rectangle(rgb, (m.x, m.y), (m.x + w - 1, m.y + h - 1), colour, thick)
        cv2.putText(rgb, f"{m.score:.3f}", (m.x, max(m.y - 3 * thick, 10 * thick)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35 * thick, colour, thick)
    write_image(target, rgb, overwrite=s.overwrite, protect=(image, template.path))


def _render(found: Found, template: Template, s: Settings, *, several: bool,
            json_: bool, said: set[str]) -> None:
    """One line a match (``x y width height score``, after the image's name when there are
    several), after the image's notes on stderr (those not ``said`` yet: the template's is
    said once); or the JSON object, notes in it (one line each with several images)."""
    import json

    if json_:
        obj = found.to_json(template, s.method)
        if several:
            common.echo(json.dumps(obj))
        else:
            common.print_json(obj)
        return
    for text in map(common.spoken, found.notes):
        if text not in said:
            common.note(text)
            said.add(text)
    h, w = template.size
    head = f"{found.image} " if several else ""
    for m in found.matches:
        common.echo(f"{head}{m.x} {m.y} {w} {h} {m.score:.6f}")
    if not found.matches:
        what = "at most" if s.method.startswith("sqdiff") else "at least"
        common.note(f"{found.image}: no match" + (f" with a score {what} {s.min_score:g}"
                                                   if s.min_score is not None else ""))
