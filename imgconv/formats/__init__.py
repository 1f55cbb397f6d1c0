"""Image formats as data (docs/architecture.md, layer 6): one table from extension to
reader, writer and what each format holds and carries.

- :mod:`~imgconv.formats.table`: :data:`FORMATS` (each a :class:`Format`), reading
  (:func:`read_image`, :func:`probe`) and the output checks that read the table;
- :mod:`~imgconv.formats.guard`: :class:`Image`, :class:`Header`, the pixel guard;
- :mod:`~imgconv.formats.read`, :mod:`~imgconv.formats.write`, :mod:`~imgconv.formats.png`:
  each format's functions;
- :mod:`~imgconv.formats.metadata`: EXIF orientation, and the ICC profile, resolution and
  EXIF carried from input to output as far as the output's ``metadata`` field says.
"""

from __future__ import annotations

from imgconv.formats.guard import (
    DTYPES,
    JPEG_QUALITY,
    MAX_PIXELS_DEFAULT,
    MAX_PIXELS_VAR,
    PNG_LEVEL,
    Array,
    Header,
    Image,
    Meta,
    Options,
    frames_of,
    guard,
    max_pixels,
    npy_header,
    ragged,
    stack_pages,
)
from imgconv.formats.metadata import METADATA, carried, orientation, tiff_tags
from imgconv.formats.table import (
    ALL,
    FORMATS,
    INT8,
    READ_EXTENSIONS,
    STREAMING,
    Format,
    Reader,
    Writer,
    check_output_channels,
    check_output_dtype,
    check_quality,
    input_format,
    output_format,
    page_count,
    palette_note,
    probe,
    read_image,
    readable,
    reader_of,
    written_as,
)
from imgconv.formats.tiff import file_meta, pages_of
from imgconv.formats.tiff import plain as plain_tiff

__all__ = [
    "ALL", "DTYPES", "FORMATS", "INT8", "JPEG_QUALITY", "MAX_PIXELS_DEFAULT", "MAX_PIXELS_VAR",
    "METADATA", "PNG_LEVEL", "READ_EXTENSIONS", "STREAMING", "Array", "Format", "Header",
    "Image", "Meta", "Options", "Reader", "Writer", "carried", "pages_of", "plain_tiff",
    "check_output_channels", "check_output_dtype", "check_quality", "file_meta", "guard",
    "input_format", "max_pixels", "npy_header", "orientation", "output_format", "page_count",
    "palette_note", "probe", "read_image", "tiff_tags",
]

# every page or frame filtered: the formats that hold them, the refusal of the others
from imgconv.formats.table import FRAMES, frames_error  # noqa: E402

__all__ += ["FRAMES", "frames_error", "frames_of", "ragged", "readable", "reader_of",
            "stack_pages", "written_as"]
