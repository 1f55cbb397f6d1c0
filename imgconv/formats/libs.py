"""The imaging libraries, borrowed with their settings restored (docs/semantics.md §7).

imgconv never changes a library-wide setting for the whole process: Pillow's decompression
bomb limit and tifffile's logger are changed only inside these ``with`` blocks, and put back
as they were on the way out (a program that imports imgconv keeps its own settings).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

_lock = threading.RLock()


@contextlib.contextmanager
def using_pillow(checked: bool = True) -> Iterator[Any]:
    """``PIL.Image`` with its own bomb check set to imgconv's limit
    (:func:`imgconv.formats.guard.max_pixels`) and turned from a warning into an error —
    for every image Pillow opens inside, an icon's embedded PNG included (``checked``
    False: off, for a header probe that imgconv's own guard follows with its own
    message) — and
    Pillow's other warnings about the file kept quiet (imgconv's error says what is wrong).
    ``MAX_IMAGE_PIXELS`` is restored on the way out."""
    from PIL import Image as PILImage

    from imgconv.formats.guard import max_pixels

    with _lock:
        before = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = max_pixels() if checked else None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                warnings.simplefilter("error", PILImage.DecompressionBombWarning)
                yield PILImage
        finally:
            PILImage.MAX_IMAGE_PIXELS = before


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


_SILENCE = _Silence()
_users = [0]  # blocks inside tifffile() now, in any thread: the filter goes with the last


@contextlib.contextmanager
def using_tifffile() -> Iterator[Any]:
    """``tifffile``, with what it logs about a damaged file kept quiet inside the block
    (imgconv's own error says it) by a filter on its logger, removed on the way out."""
    import tifffile as module

    log = logging.getLogger("tifffile")
    with _lock:
        _users[0] += 1
        log.addFilter(_SILENCE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield module
    finally:
        with _lock:
            _users[0] -= 1
            if not _users[0]:
                log.removeFilter(_SILENCE)


_cv: list[Any] = [0, None]  # blocks inside quiet_opencv() now, and the level before the first


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's own log lines (``[ERROR:0@0.03] ... can't read header``) kept off standard
    error inside the block (imageio's OpenCV plugin probes files with it), and the
    DeprecationWarnings of imageio's legacy plugins as it tries them (DICOM's: nothing a
    user of imgconv can act on).  The first block in any thread silences OpenCV, the last
    puts back the level it had (overlapping blocks in two threads once restored each
    other's silence)."""
    import cv2

    log = cv2.utils.logging
    with _lock:
        if not _cv[0]:
            _cv[1] = log.getLogLevel()
            log.setLogLevel(log.LOG_LEVEL_SILENT)
        _cv[0] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        with _lock:
            _cv[0] -= 1
            if not _cv[0]:
                log.setLogLevel(_cv[1])
