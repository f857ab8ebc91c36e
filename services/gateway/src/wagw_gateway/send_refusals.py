"""Why a send is refused before it reaches the broker, worded once for both ways of admitting it
(separate reads, or `send_admission.py`'s one round trip)."""

from __future__ import annotations

from wagw_common import session_status

from .errors import ApiError, not_found
from .send_admission import NEVER_SENDS


def not_bound_to_one_session() -> ApiError:
    return ApiError(403, "forbidden", "this key is not bound to one session: send with "
                                      "POST /api/v1/sessions/{session_id}/messages instead")


def refusal_for_status(status: str | None, queued: bool) -> ApiError | None:
    """409 `session_not_connected` when the session's cached status (kept by the orchestrator) says it
    cannot take a send: only CONNECTED and RECONNECTING (moving between workers: held and sent once it
    is back) take one, unless the request asks to be queued (`queue: true`); a deleted session is not
    found. An unknown status lets the send through: the orchestrator decides (and fails it with the
    same reason)."""
    if status is None or status in session_status.ACCEPTS_SENDS:
        return None
    if status in NEVER_SENDS:
        return not_found("session")
    if queued:
        return None
    return ApiError(409, "session_not_connected",
                    f"the session is {status}, not connected; send with \"queue\": true to hold the message "
                    "until it is", {"status": status, "accepted_from": sorted(session_status.ACCEPTS_SENDS)})
