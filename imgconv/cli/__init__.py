"""The command line: parse, call the library, render with rich, map errors to exit codes.

The application and its entry point are :mod:`~imgconv.cli.app` (``app``, ``main``); one
module per command group: :mod:`~imgconv.cli.apply`, :mod:`~imgconv.cli.batch`,
:mod:`~imgconv.cli.diff`, :mod:`~imgconv.cli.kernels` (``filters``, ``show``,
``compose``) and :mod:`~imgconv.cli.match`; :mod:`~imgconv.cli.flags` declares the options
they share (``Annotated`` aliases each command lists) and :mod:`~imgconv.cli.common`
renders the library's messages with flags.  Heavy modules (numpy, scipy, imageio, OpenCV,
rich) are imported inside the commands that need them, so ``imgconv --help`` stays fast.
This package face only hands ``app`` and ``main`` on.
"""

from imgconv.cli.app import app, main

__all__ = ["app", "main"]
