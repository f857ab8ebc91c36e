"""What a worker reports about the sessions it holds: a QR code, a pairing code, a status.

They arrive on a queue of their own, consumed by one replica at a time and one report at a time per
session, so a session's reports are applied in the order its worker sent them. Each is still checked
against the lifecycle table: a report that is not an edge from the session's status (a late QR after
CONNECTED, a report that crossed a customer's command) is logged and dropped, never applied. A
redelivered report repeats one already applied, which the table turns into a no-op.

Only the session's own worker is heard (reporters.py); a worker that says it runs a session the
platform placed elsewhere is told to stop it. A CONNECTED report releases the sends held meanwhile."""

from __future__ import annotations

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from . import clock
from .deps import Deps
from .lifecycle import can_move, is_live
from .message_routing import release_held
from .placement import stop_on
from .reporters import from_assigned_worker, may_adopt
from .session_change import SessionChange, change_session

log = get_logger(__name__)


async def when_worker_shows_qr_store_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    data = envelope.data

    def show(session: dict, change: SessionChange) -> SessionChange | None:
        if not from_assigned_worker(envelope, session, speaker):
            return None
        if session.get("qr") == data["qr"] and session["status"] == SessionStatus.QR_REQUIRED:
            return None  # the same code reported twice
        if session["status"] != SessionStatus.QR_REQUIRED:
            if not can_move(session["status"], SessionStatus.QR_REQUIRED):
                log.info("worker.qr_ignored", session_id=session["_id"], status=session["status"])
                return None
            change.move_to(SessionStatus.QR_REQUIRED)
        return change.show_qr(data["qr"], clock.to_stored_precision(data["expires_at"]))

    if await change_session(deps.sessions, deps.session_relay, deps.broker, data["session_id"], show) is None:
        log.warning("worker.report_for_unknown_session", report="qr", session_id=data["session_id"])


async def when_worker_shows_pairing_code_store_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    data = envelope.data

    def show(session: dict, change: SessionChange) -> SessionChange | None:
        if not from_assigned_worker(envelope, session, speaker):
            return None
        starting = session["status"] in (SessionStatus.CONNECTING, SessionStatus.RECONNECTING)
        if not starting or session.get("pairing_code") == data["code"]:
            log.info("worker.pairing_code_ignored", session_id=session["_id"], status=session["status"])
            return None
        return change.show_pairing_code(data["code"], clock.to_stored_precision(data["expires_at"]))

    if await change_session(deps.sessions, deps.session_relay, deps.broker, data["session_id"], show) is None:
        log.warning("worker.report_for_unknown_session", report="pairing_code", session_id=data["session_id"])


async def when_worker_reports_session_status_apply_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    data = envelope.data
    target = data["status"]
    stray: list[bool] = []
    moved_from: list[str | None] = []

    def apply(session: dict, change: SessionChange) -> SessionChange | None:
        if target == SessionStatus.CONNECTED and may_adopt(session, speaker):
            # Waiting for a worker after a failover found none: the worker that held it is back with it.
            change.set(worker_id=speaker)
        elif not from_assigned_worker(envelope, session, speaker):
            stray[:] = [is_live(target)]
            return None
        if session.get("awaiting_stop") == speaker and target in (SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT):
            return change.set(awaiting_stop=None)  # the stop half of a restart on the same worker
        if session["status"] == SessionStatus.RECONNECTING and target == SessionStatus.CONNECTING:
            return None  # the worker starting it again is part of reconnecting, not news
        if target == session["status"]:
            # Nothing happened that anyone needs to hear about; a newly learnt phone is still kept.
            return change.set(phone=data["phone"]) if data["phone"] and data["phone"] != session.get("phone") else None
        if not can_move(session["status"], target):
            log.info("worker.status_ignored", session_id=session["_id"], status=session["status"], reported=target)
            return None
        change.move_to(target, reason=data["reason"])
        moved_from[:] = [session.get("moved_from")] if target == SessionStatus.CONNECTED else []
        if target == SessionStatus.CONNECTED or not is_live(target):
            change.set(qr=None, qr_expires_at=None, pairing_code=None, pairing_code_expires_at=None, moved_from=None)
            if session.get("moved_from"):
                change.set(former_worker_id=session["moved_from"])  # the move ended; see reporters.py
        if data["phone"]:
            change.set(phone=data["phone"])
        return change

    written = await change_session(deps.sessions, deps.session_relay, deps.broker, data["session_id"], apply)
    if written is None:
        log.warning("worker.report_for_unknown_session", report="status", session_id=data["session_id"])
        return
    if stray and stray[0]:
        # A worker runs a session the platform placed elsewhere (it came back after a failover, say):
        # one session must not be live on two workers, so this one is told to stop it.
        log.warning("worker.stray_session_stopped", session_id=written["_id"], worker_id=speaker,
                    assigned_worker_id=written.get("worker_id"))
        await stop_on(deps.broker, speaker, written["_id"], logout=False)
        return
    if moved_from and moved_from[0]:
        log.info("failover.session_back", session_id=written["_id"], moved_from=moved_from[0],
                 worker_id=speaker)  # the end of a move (the failover figure is read from these)
    if (target == SessionStatus.CONNECTED and written["status"] == SessionStatus.CONNECTED
            and written.get("worker_id") == speaker):
        await deps.routes.remember(written["_id"], speaker)  # new after an adoption; refreshed otherwise
        # Every CONNECTED report releases what waits (idempotent: claims), so a retried report
        # finishes a release that a crash interrupted.
        await release_held(written["_id"], speaker, messages=deps.messages, relay=deps.message_relay,
                           broker=deps.broker)
