"""A started platform for a pytest fixture: `with started_platform("wagw-x", build) as run: yield run`."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from typing import Callable, Iterator

import redis

from .infra import create_vhost, delete_vhost
from .platform_run import PlatformRun


@contextmanager
def started_platform(vhost_prefix: str, build: Callable[[PlatformRun], None], *, drop_databases: bool = True,
                     **options) -> Iterator[PlatformRun]:
    """A PlatformRun(vhost, **options) on a fresh vhost and an emptied Redis (leases and caches of an
    earlier run must not leak into this one), given its services and workers by `build(run)`, started.
    Afterwards it is stopped, its databases dropped (unless `drop_databases` is false) and the vhost deleted."""
    vhost = asyncio.run(create_vhost(vhost_prefix))
    run = PlatformRun(vhost, **options)
    redis.Redis.from_url(run.redis_url).flushdb()
    build(run)
    try:
        asyncio.run(run.start())
    except Exception:
        run.stop()
        raise
    try:
        yield run
    finally:
        run.stop()
        if drop_databases:
            run.drop_databases()
        asyncio.run(delete_vhost(vhost))
