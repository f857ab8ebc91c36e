"""Ending every login of an account beyond this gateway: tokens of the old generation are already
refused here on their next request; `user.logins_ended` tells realtime to close the Socket.IO
connections opened with them, which would otherwise run on until their token expired."""

from __future__ import annotations

from wagw_common.logging import get_logger

from .deps import Deps

log = get_logger(__name__)


async def announce_logins_ended(gw: Deps, user_id: str, reason: str) -> None:
    """Best effort, after the change is stored: it stands even if the broker is away, and the open
    connections then end when their token expires (ACCESS_TOKEN_TTL_SECONDS at most)."""
    try:
        await gw.broker.publish_event("user.logins_ended", {"user_id": user_id, "reason": reason}, subject=user_id)
    except Exception as exc:
        log.warning("account.logins_ended_not_announced", user_id=user_id, reason=reason, error=repr(exc))
