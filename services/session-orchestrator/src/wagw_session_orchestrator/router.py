"""Every message the orchestrator consumes: its queue, its handler, and why it is consumed that way."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.contracts import CATALOG
from wagw_common.envelope import Envelope
from wagw_common.router import Router
from wagw_common.worker_speakers import heard_from_worker

from . import bounces, chat_actions, failover, message_changes, message_commands, message_reports, queries
from . import received, session_commands, session_control, session_reports
from .deps import Deps
from .settings import SERVICE

router: Router[Deps] = Router(SERVICE)


def _session_of(envelope: Envelope) -> str:
    return envelope.data["session_id"]


def _message_of(envelope: Envelope) -> str | None:
    return envelope.data.get("message_id")


def _heard(handler, deps: Deps):
    # Worker reports: the speaker is whom the broker vouches for, never the body's worker_id.
    return heard_from_worker(handler, deps.speakers)


commands = router.queue(topology.ORCHESTRATOR_COMMANDS)
commands.on("session.create", session_commands.when_session_create_requested_create_it)
commands.on("session.connect", session_commands.when_session_connect_requested_assign_a_worker)
commands.on("session.pair", session_commands.when_session_pair_requested_assign_a_worker)
commands.on("session.disconnect", session_control.when_session_disconnect_requested_stop_it)
commands.on("session.logout", session_control.when_session_logout_requested_unlink_the_phone)
commands.on("session.restart", session_control.when_session_restart_requested_start_it_again)
commands.on("session.update", session_control.when_session_update_requested_rename_it)
commands.on("session.delete", session_control.when_session_delete_requested_remove_it)
commands.on("message.edit", message_changes.when_edit_requested_hand_it_to_the_worker)
commands.on("message.revoke", message_changes.when_revoke_requested_hand_it_to_the_worker)
commands.on("session.read_chat", chat_actions.when_chat_read_requested_hand_it_to_the_worker)
commands.on("session.presence", chat_actions.when_presence_requested_hand_it_to_the_worker)
# Sends published before sends were sharded (by a gateway of the previous version): unordered.
commands.on("message.send", message_commands.when_send_requested_store_and_route_it)

# Reads on their own queue: never stuck behind a backlog of sends or commands.
reads = router.queue(topology.ORCHESTRATOR_QUERIES)
reads.on("session.get", queries.when_session_requested_return_it)
reads.on("session.list", queries.when_sessions_listed_return_them)
reads.on("message.list", queries.when_history_requested_return_a_page)
reads.on("message.get", queries.when_message_requested_return_it)
reads.on("message.chats", queries.when_chats_listed_return_them)

# One session's sends one after another, in the order they were accepted (see topology: the gateway
# publishes each on its session's shard, and each shard has a single active consumer). A redelivered
# send meets its own stored message (the id is the key) and only finishes what the first delivery
# left undone, so these skip the inbox and its two database round trips.
for shard, spec in enumerate(topology.ORCHESTRATOR_SENDS):
    sends = router.queue(spec, ordered_by=_session_of, inbox=False)
    sends.on("message.send", message_commands.when_send_requested_store_and_route_it,
             routing_key=f"message.send.{shard}")

# Applied in the order the worker sent them (single active consumer, then one at a time per
# session), on a queue of their own so a failover's CONNECTED reports never wait behind message
# receipts. A redelivery (a crash before the ack) repeats a report already applied, which the
# lifecycle turns into a no-op, so these skip the inbox and its two database round trips.
session_reports_queue = router.queue(topology.ORCHESTRATOR_SESSION_REPORTS, ordered_by=_session_of, inbox=False,
                                     guard=_heard)
session_reports_queue.on("worker.session.qr", session_reports.when_worker_shows_qr_store_it)
session_reports_queue.on("worker.session.pairing_code", session_reports.when_worker_shows_pairing_code_store_it)
session_reports_queue.on("worker.session.status", session_reports.when_worker_reports_session_status_apply_it)

# Idempotent by themselves, so no inbox either: a status step moves forward only, and is kept once in
# the timeline; an inbound message's id is derived from WhatsApp's, so it is stored once; a bounce
# takes a message back by compare-and-set; an edit applies only over an older one, a deletion once.
# One message's reports one after another, in the order its worker sent them (within a replica): a
# step overtaken by the next one's handler costs reading the message back, its session, and a retry.
uplink = router.queue(topology.ORCHESTRATOR_WORKER_UPLINK, inbox=False, guard=_heard, ordered_by=_message_of)
uplink.on("worker.message.status", message_reports.when_worker_reports_message_status_record_it)
uplink.on("worker.message.inbound", received.when_worker_receives_message_store_it)
uplink.on("worker.message.bounced", bounces.when_worker_bounces_message_route_it_again)
uplink.on("worker.message.edited", received.when_worker_reports_edit_record_it)
uplink.on("worker.message.deleted", received.when_worker_reports_deletion_mark_it)

fleet = router.queue(topology.ORCHESTRATOR_FLEET_EVENTS)
fleet.on("worker.online", failover.when_worker_came_online_place_waiting)
# Offline, draining or gone: its sessions move to healthy workers (the event types the registry
# declares; draining and removal arrive with the fleet's lifecycle).
for worker_left in ("worker.offline", "worker.draining", "worker.removed"):
    if worker_left in CATALOG:
        fleet.on(worker_left, failover.when_worker_left_move_its_sessions)
