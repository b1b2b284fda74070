"""Joining a Ray cluster for the commands that can use one (``index --ray``,
``cluster --ray``); needs ``pip install 'faceatlas[ray]'``.

``ADDRESS`` is ``local`` (start a Ray instance on this machine), ``auto`` (the cluster
this machine is part of) or ``ray://HOST:10001`` / ``HOST:6379``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import FaceAtlasError
from .extras import require


@contextmanager
def ray_session(address: str, cpus: int, feature: str) -> Iterator[Any]:
    """The ``ray`` module, connected to ``address`` (a ``local`` instance gets ``cpus``
    CPUs) for the ``with`` block; a connection made here is shut down at its end, one
    that already existed is left as it was."""
    ray = require("ray", feature)
    started = False
    if not ray.is_initialized():
        try:
            if address == "local":
                ray.init(num_cpus=max(1, cpus), include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise FaceAtlasError(f"cannot start or reach Ray at {address!r}: {exc}") from None
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()
