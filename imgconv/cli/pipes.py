"""``-`` as the input (standard input) and ``-o -`` (standard output) for ``apply``.

An image read from standard input is saved to a private temporary file named by the format
its first bytes show (:func:`imgconv.formats.sniff.sniff`); an image for standard output is
written to a private temporary file (in ``--format``, else the input's format) and copied to
standard output once complete, so a failure never sends half an image down the pipe.  The rest
of ``apply`` sees ordinary files: one pipeline, whatever the source and sink.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imgconv.errors import ImgconvError, WorkError

STREAM = Path("-")


@dataclass
class Streams:
    """The inputs and output ``apply`` works on, standard streams replaced by files."""

    inputs: list[Path]
    output: Path | None
    to_stdout: Path | None = None  # the temporary file whose bytes go to standard output

    def flush(self) -> None:
        """Copy the finished output to standard output (nothing when it is not piped)."""
        if self.to_stdout is None:
            return
        import shutil

        try:
            with open(self.to_stdout, "rb") as fh:
                shutil.copyfileobj(fh, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        except OSError as exc:
            from imgconv.cli.common import silence

            silence(sys.stdout)
            why = ("its reader closed it before the whole image was sent"
                   if isinstance(exc, BrokenPipeError) else exc.strerror or str(exc))
            raise WorkError(f"-o -: standard output: {why}") from None


@contextmanager
def standard_streams(inputs: list[Path], output: Path | None, fmt: str | None,
                     json_: bool) -> Iterator[Streams]:
    """``inputs``/``output`` with ``-`` read from or written to the standard streams."""
    reads, writes = STREAM in inputs, output == STREAM
    if not (reads or writes):
        yield Streams(inputs, output)
        return
    _check(inputs, output, reads, writes, json_)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="imgconv-") as folder:
        src = _from_stdin(Path(folder)) if reads else inputs[0]
        target = None
        if writes:
            ext = ("." + fmt) if fmt else src.suffix.lower()
            target = Path(folder) / f"stdout{ext}"
        yield Streams([src if p == STREAM else p for p in inputs],
                      target if writes else output, target)


def _check(inputs: list[Path], output: Path | None, reads: bool, writes: bool,
           json_: bool) -> None:
    if len(inputs) != 1:
        raise ImgconvError("- (standard input) and -o - (standard output) take one image")
    if reads and output is None:
        raise ImgconvError("reading standard input (-) needs -o: a file, or - for standard "
                           "output")
    if reads and sys.stdin.isatty():
        raise ImgconvError("-: standard input is a terminal: pipe an image into it "
                           "(cat photo.png | imgconv apply - -f F -o out.png)")
    if writes and json_:
        raise ImgconvError("-o - writes the image to standard output, as --json writes its "
                           "record there: pick one")
    if writes and sys.stdout.isatty():
        raise ImgconvError("-o -: standard output is a terminal: redirect it (> out.png) or "
                           "pipe it into another program")


def _from_stdin(folder: Path) -> Path:
    """Standard input saved as ``stdin.EXT`` in ``folder``, EXT from its first bytes."""
    from imgconv.formats.sniff import sniff

    data = sys.stdin.buffer.read()
    if not data:
        raise ImgconvError("-: standard input is empty: pipe an image into it")
    ext = sniff(data[:16])
    if ext is None:
        raise ImgconvError("-: standard input is not an image imgconv reads (PNG, JPEG, "
                           "TIFF, BMP, GIF, WebP, .npy, recognised by their first bytes)")
    path = folder / f"stdin{ext}"
    path.write_bytes(data)
    return path
