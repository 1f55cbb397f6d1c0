"""Moved: the chain is :mod:`imgconv.chain`, one file is :mod:`imgconv.files` (shim)."""

from imgconv.chain import (  # noqa: F401
    CLIP_NOTE,
    Result,
    filter_image,
    finish,
    normalized,
    run_filters,
    to_gray,
)
from imgconv.chain import identity_like as _identity_like  # noqa: F401
from imgconv.files import FileRecord, process_file  # noqa: F401
from imgconv.options import ALPHA_MODES  # noqa: F401
from imgconv.options import FilterOptions as Options  # noqa: F401
