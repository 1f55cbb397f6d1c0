"""A Dask distributed cluster: the address checked before any work, one way to connect.

``batch --scheduler`` sends whole files, ``apply --scheduler`` the bands of one image;
both connect here.  Dask is an optional dependency, imported only when asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from imgconv.errors import ImgconvError, verbatim


def check_scheduler(address: str) -> None:
    """Refuse, before any work, what is not a Dask scheduler address."""
    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d+)?/?", address):
        raise ImgconvError("{scheduler} is not a scheduler address: use "
                           "tcp://HOST:PORT (what 'dask scheduler' prints)",
                           values={"scheduler": address})


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """A ``distributed.Client`` of the cluster at ``address``, closed afterwards."""
    check_scheduler(address)
    try:
        from distributed import Client
    except ImportError:
        raise ImgconvError("a scheduler needs Dask: pip install 'imgconv[dask]'") from None
    try:
        client = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ImgconvError(f"{{scheduler}}: cannot connect ({verbatim(exc)})",
                           values={"scheduler": address}) from None
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]
