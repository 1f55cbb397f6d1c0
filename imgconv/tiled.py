"""Moved to :mod:`imgconv.bands` (shim while callers move)."""

from imgconv.bands import *  # noqa: F403
from imgconv.bands import default_limit, parse_size, process_file_tiled  # noqa: F401
from imgconv.bands.memory import bytes_per_row  # noqa: F401
