"""Images larger than memory: bands with a halo, streamed sources and sinks, a run loop.

:func:`process_file_tiled` filters one file band by band; :func:`header_shape`,
:func:`needs_tiling` and the size helpers let :mod:`imgconv.files` decide when.
"""

from imgconv.bands.memory import (
    DEFAULT_LIMIT,
    band_rows,
    bytes_per_row,
    needs_tiling,
    parse_size,
    whole_image_bytes,
)
from imgconv.bands.run import process_file_tiled
from imgconv.bands.sources import (
    ArraySource,
    NpySource,
    TiffSource,
    header_shape,
    open_source,
    streamable,
)

__all__ = ["ArraySource", "NpySource", "TiffSource", "band_rows",
           "bytes_per_row", "DEFAULT_LIMIT", "header_shape", "needs_tiling", "open_source",
           "parse_size", "process_file_tiled", "streamable", "whole_image_bytes"]
