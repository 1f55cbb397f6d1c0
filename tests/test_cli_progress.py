"""The progress of one file on a terminal: stages (read, filter, write) once a whole image has
taken about a second, bands for an image filtered in bands, nothing for a quick file."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console

from imgconv.cli.apply import _BandProgress


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_a_slow_file_shows_its_stage() -> None:
    console, out = _console()
    bar = _BandProgress(console)
    bar.DELAY = 0.05
    with bar.for_file(Path("photo.png")):
        bar.stage("read")
        bar.stage("filter")
        time.sleep(0.3)  # the filter takes "long"
        assert bar.progress is not None
        bar.stage("write")
    text = out.getvalue()
    assert "photo.png" in text and "filter" in text
    assert bar.progress is None  # stopped with the file


def test_a_quick_file_shows_nothing() -> None:
    console, out = _console()
    bar = _BandProgress(console)
    with bar.for_file(Path("photo.png")):
        bar.stage("read")
        bar.stage("filter")
        bar.stage("write")
    time.sleep(0.05)
    assert out.getvalue() == "" and bar.progress is None


def test_bands_replace_the_stages_and_no_terminal_no_bar() -> None:
    console, out = _console()
    bar = _BandProgress(console)
    with bar.for_file(Path("big.tif")):
        bar.update(1, 4)
        bar.update(4, 4)
    assert "bands" in out.getvalue()
    silent = _BandProgress(None)  # not a terminal
    with silent.for_file(Path("x.png")):
        silent.stage("read")
        silent.update(1, 2)
    assert silent.progress is None
