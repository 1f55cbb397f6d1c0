"""TIFF through tifffile and its codec library imagecodecs (docs/formats.md, "TIFF").

Every TIFF that tifffile with imagecodecs decodes is read: LZW, JPEG and old-style JPEG,
deflate and zstd with predictors, CCITT G3/G4 fax, packbits, packed 1/2/4/12-bit samples,
WebP / JPEG 2000 / JPEG XL tiles.  Pages are listed by index up to the count tifffile
finds (a page chain that loops back or points outside the file ends there, never a hang:
iterating ``TiffFile.pages`` itself follows a loop for ever).  Each page's photometric is
honoured (:mod:`imgconv.formats.spaces`): min-is-white, CMYK, Lab and associated alpha are
kept when the output is a TIFF, else converted as Pillow converts them; a palette becomes
RGB and YCbCr RGB, always.  Pages of different sizes or pixel types (a scan and its
thumbnail, pyramid levels, a float page beside an 8-bit one) are read as a ragged stack and
written back page by page.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import imgconv.formats.spaces as spaces
from imgconv.errors import ImageError
from imgconv.formats.guard import (
    Array,
    Header,
    Image,
    Meta,
    Options,
    _pick,
    frames_of,
    ragged,
    stack_pages,
)
from imgconv.formats.libs import using_tifffile
from imgconv.formats.metadata import tiff_meta, tiff_tags

#: photometrics read as they are; the others by the rules of :func:`_space`
_MINISWHITE, _MINISBLACK, _RGB, _PALETTE, _SEPARATED, _YCBCR, _CIELAB = 0, 1, 2, 3, 5, 6, 8
_UNSUPPORTED = {4: "a transparency mask", 9: "ICC L*a*b*", 10: "ITU L*a*b*",
                32803: "a colour filter array (camera raw): develop it first",
                32844: "LogL", 32845: "LogLuv", 34892: "linear raw (camera raw): develop it "
                "first"}
_UNSPECIFIED, _ASSOCALPHA = 0, 1
_OJPEG = 6  # old-style JPEG: libtiff's decoder (Pillow's) is the reference for it
_JPEG_COMPRESSIONS = {6, 7, 33007, 34892}  # tifffile hands these out as RGB already


def pages_of(tif: Any) -> list[Any]:
    """The pages of an open TiffFile, by index (never by iterating ``tif.pages``)."""
    pages = tif.pages
    return [pages[i] for i in range(len(pages))]


def probe_tiff(p: Path) -> Header:
    """Every page's size from its tags, as decoded: planar layouts and volumes (depth)
    too, and a tiled page rounded up to whole tiles (each tile is decoded whole)."""
    def size(pg: Any) -> tuple[int, int, int]:
        h, w, d = int(pg.imagelength), int(pg.imagewidth), int(pg.imagedepth or 1)
        if pg.is_tiled:
            th, tw, td = int(pg.tilelength or 1), int(pg.tilewidth or 1), int(pg.tiledepth or 1)
            h, w, d = -(-h // th) * th, -(-w // tw) * tw, -(-d // td) * td
        channels = int(pg.samplesperpixel)
        if int(pg.photometric) == _PALETTE:
            channels = 3  # indices become colours
        return h * d, w, channels

    with using_tifffile() as tifffile, tifffile.TiffFile(p) as tif:
        pages = pages_of(tif)
        header = Header.of([size(pg) for pg in pages])
        dtype = np.dtype(pages[0].dtype).newbyteorder("=") if pages else None
    return dataclasses.replace(header, dtype=str(dtype)) if dtype is not None else header


def read_tiff(p: Path, page: int | None, keep: tuple[str, ...] = ()) -> Image:
    """The page ``page`` of a TIFF, or every page (a stack; ragged when they differ in
    size), each in its own colour space when ``keep`` names it, else converted."""
    name = str(p)
    with using_tifffile() as tifffile, tifffile.TiffFile(p) as tif:
        pages = pages_of(tif)
        if not pages:
            raise ImageError("{file}: the TIFF holds no image (no page): the file is "
                             "damaged; re-export it", file=name)
        meta = tiff_meta(pages[_pick(name, page, len(pages))])
        chosen = pages if page is None else [pages[page]]
        read = [_page(pg, name, keep) for pg in chosen]
    if len({r.space for r in read}) > 1:  # pages in several spaces: all converted
        read = [r.common(name) for r in read]
    notes = list(dict.fromkeys(n for r in read for n in r.notes))
    first = read[0]
    if len(read) == 1:
        return Image(first.array, name, has_alpha=first.alpha, meta=meta, space=first.space,
                     notes=notes)
    arrays = [r.array for r in read]
    return Image(stack_pages(arrays), name, has_alpha=first.alpha, meta=meta, pages=len(arrays),
                 space=first.space, notes=notes)


@dataclasses.dataclass
class _Page:
    array: npt.NDArray[Any]
    space: str
    alpha: bool
    notes: list[str]

    def common(self, name: str) -> _Page:
        """This page converted out of a kept space."""
        if not self.space:
            return self
        into = spaces.into(self.space, self.array.shape[-1] if self.array.ndim == 3 else 1)
        return _Page(spaces.to_common(self.space, self.array), "", self.alpha,
                     [*self.notes, spaces.note(name, self.space, into)])


def _page(pg: Any, name: str, keep: tuple[str, ...]) -> _Page:
    """One page's pixels: samples of 1-7 bits scaled to 8 bits as Pillow does, planes
    made channels, and its photometric honoured (:func:`_space`)."""
    photometric = int(pg.photometric)
    if photometric in _UNSUPPORTED:
        raise ImageError(f"{{file}}: TIFF photometric {photometric} "
                         f"({_UNSUPPORTED[photometric]}) is not supported: convert it to "
                         "RGB or grey first", file=name)
    if int(pg.compression) == _OJPEG:
        return _pillow_page(pg, name)
    arr = pg.asarray()
    if getattr(pg, "planarconfig", 1) == 2 and arr.ndim == 3:  # separate planes
        arr = np.moveaxis(arr, 0, -1)
    extras = tuple(int(e) for e in (getattr(pg, "extrasamples", ()) or ()))
    notes: list[str] = []
    if _UNSPECIFIED in extras and arr.ndim == 3:  # as Pillow: samples of no stated meaning
        keep = arr.shape[-1] - len(extras) + extras.index(_UNSPECIFIED)
        arr, extras = arr[..., :keep], extras[:extras.index(_UNSPECIFIED)]
        arr = arr[..., 0] if arr.shape[-1] == 1 else arr
        notes.append(f"{name}: extra samples of unspecified meaning left out, as Pillow "
                     "reads the file")
    bits = int(pg.bitspersample)
    if photometric == _PALETTE:
        index = arr[..., 0] if arr.ndim == 3 else arr
        colours = spaces.palette_to_rgb(index, pg.colormap)
        if arr.ndim == 3:  # the palette's index, then an alpha sample (Pillow's "PA")
            alpha = spaces.scale_bits(arr[..., 1:], bits).astype(colours.dtype)
            colours = np.concatenate([colours, alpha], axis=-1)
        return _Page(colours, "", arr.ndim == 3, [*notes, f"{name}: a palette (colour map) "
                                                  "converted to RGB as Pillow converts it"])
    arr = spaces.scale_bits(arr, 1 if arr.dtype == np.bool_ else bits)
    space = _space(pg, photometric, arr, extras, name)
    if space == "lab":
        arr = spaces.lab_from_stored(arr)
    page = _Page(np.ascontiguousarray(arr), space, bool(extras) and arr.ndim == 3, notes)
    return page if not space or space in keep else page.common(name)


def _pillow_page(pg: Any, name: str) -> _Page:
    """A page decoded by Pillow (libtiff): old-style JPEG, whose every decoder differs a
    little and whose reference is libtiff's."""
    from imgconv.formats.libs import using_pillow

    with using_pillow() as PILImage, PILImage.open(pg.parent.filehandle.path) as im:
        im.seek(int(pg.index))
        im.load()
        arr = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im)
    return _Page(np.ascontiguousarray(arr), "", False, [])


def _space(pg: Any, photometric: int, arr: npt.NDArray[Any], extras: tuple[int, ...],
           name: str) -> str:
    """The colour space a page's values are in ("" for grey or RGB)."""
    channels = arr.shape[-1] if arr.ndim == 3 else 1
    base = channels - len(extras)
    if photometric == _MINISWHITE:
        return "miniswhite"
    if photometric == _SEPARATED:
        if base != 4 or int(getattr(pg, "inkset", 1) or 1) not in (1,):
            raise ImageError(f"{{file}}: a TIFF of {base} inks other than CMYK is not "
                             "supported: convert it to CMYK or RGB first", file=name)
        return "cmyk"
    if photometric == _YCBCR:
        if int(pg.compression) in _JPEG_COMPRESSIONS:
            return ""  # decoded to RGB by the JPEG codec
        if arr.dtype != np.uint8:
            raise ImageError(f"{{file}}: a {arr.dtype} YCbCr TIFF is not supported: convert "
                             "it to RGB first", file=name)
        return "ycbcr"
    if photometric == _CIELAB:
        if arr.dtype != np.uint8 or base != 3:
            raise ImageError("{file}: only 8-bit CIE L*a*b* TIFFs are supported: convert "
                             "it to RGB first", file=name)
        return "lab"
    if extras and extras[0] == _ASSOCALPHA and arr.ndim == 3:
        return "premultiplied"
    return ""


def file_meta(path: str | os.PathLike[str], page: int | None = None) -> Meta:
    """The metadata of a TIFF page from its header (no pixel read; nothing for other
    files: the banded path reads no pixels whole)."""
    p = Path(path)
    if p.suffix.lower() not in (".tif", ".tiff"):
        return {}
    with using_tifffile() as tifffile, tifffile.TiffFile(p) as tif:
        pages = pages_of(tif)
        return tiff_meta(pages[page or 0]) if pages else {}


def plain(p: str | os.PathLike[str], page: int | None = None) -> bool:
    """True when a TIFF page's values are read as they are stored (grey or RGB, no
    palette, no kept space, whole bytes): what the banded path can stream."""
    try:
        with using_tifffile() as tifffile, tifffile.TiffFile(p) as tif:
            pages = pages_of(tif)
            pg = pages[page or 0] if pages else None
    except Exception:  # noqa: BLE001 - not streamed: the ordinary reader says what is wrong
        return False
    if pg is None:
        return False
    extras = tuple(int(e) for e in (getattr(pg, "extrasamples", ()) or ()))
    return (int(pg.photometric) in (_MINISBLACK, _RGB) and int(pg.bitspersample) >= 8
            and not (extras and extras[0] == _ASSOCALPHA))


#: how each kept space is written: tifffile's photometric and the first extra sample
_WRITE = {"": None, "cmyk": "separated", "lab": "cielab", "miniswhite": "miniswhite",
          "premultiplied": None}


def write_tiff(tmp: str, array: Array, meta: Meta, pages: int, options: Options) -> None:
    """A TIFF of one page or a stack (pages of different sizes written one by one), in
    the colour space ``options["space"]`` names (the input's, kept), else grey or RGB."""
    import tifffile

    space = str(options.get("space", ""))
    # a stack of one-pixel-wide grey pages is ambiguous to tifffile (it would write one page
    # with the page axis as its rows): written page by page like a ragged stack
    narrow = pages > 1 and array.ndim == 3 and array.shape[-1] == 1
    if not ragged(array) and not narrow:
        tifffile.imwrite(tmp, _stored(array, space), **_layout(array, pages, space),
                         **tiff_tags(meta))
        return
    with tifffile.TiffWriter(tmp) as tw:
        for k, page in enumerate(frames_of(array, pages)):
            tw.write(_stored(page, space), **_layout(page, 1, space),
                     **(tiff_tags(meta) if k == 0 else {}))


def _stored(array: Array, space: str) -> Array:
    return spaces.lab_to_stored(array) if space == "lab" else array


def _layout(array: Array, pages: int, space: str) -> dict[str, Any]:
    """tifffile's photometric, extra samples and planar configuration for the pixels:
    grey or RGB (an RGBA's alpha unassociated) unless a kept ``space`` says otherwise."""
    core = array.shape[1:] if pages > 1 else array.shape
    channels = core[2] if len(core) == 3 else 1
    planar = "contig" if len(core) == 3 else None
    if not space:  # grey, grey+alpha, RGB, RGBA (alpha unassociated); more: minisblack
        rgb = channels in (3, 4)
        alpha = channels in (2, 4)
        return {"photometric": "rgb" if rgb else "minisblack",
                "extrasamples": ("unassalpha",) if alpha else None, "planarconfig": planar}
    base = {"cmyk": 4, "lab": 3}.get(space, 3 if channels >= 3 else 1)
    photometric = _WRITE[space] or ("rgb" if base == 3 else "minisblack")
    kind = "assocalpha" if space == "premultiplied" else "unassalpha"
    extra = channels - base
    return {"photometric": photometric, "extrasamples": (kind,) * extra if extra > 0 else None,
            "planarconfig": planar}
