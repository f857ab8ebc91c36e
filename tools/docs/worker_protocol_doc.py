"""The worker protocol as an AsyncAPI 3.0 document (docs/asyncapi.yaml), generated from the contracts
(every worker uplink and worker command), the topology and the identity rule in libs/common, so a
worker can be written in any language from this document alone."""

from __future__ import annotations

from typing import Any

import yaml

from wagw_common import topology
from wagw_common.contracts import CATALOG, Contract, Kind
from wagw_common.contracts.workers import BREAKDOWN_BUCKETS, DEFAULT_HEARTBEAT_INTERVAL, broker_user_for
from wagw_common.envelope import CONTENT_TYPE, SPEC_VERSION
from wagw_common.json_schema import SchemaSet

PROTOCOL_VERSION = "1.0.0"
BINDING_VERSION = "0.3.0"
WORKER_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
EXAMPLE_WORKER = "worker-1"

DESCRIPTION = f"""\
How a worker (the process holding WhatsApp connections) talks to the WhatsApp Gateway platform.
Everything goes through RabbitMQ (AMQP 0-9-1); a worker never calls a service directly.

## Connecting and identity
- Connect with the worker's own credentials: user `{broker_user_for('<worker id>')}` (operators create them,
  see docs/workers.md). They allow nothing but reading the worker's own command queue
  `{topology.worker_command_queue('<worker id>').name}` and publishing `worker.*` routing keys to the
  `{topology.WORKER_UPLINK}` exchange. Declare nothing: the queue already exists.
- Worker ids are lower-case words joined by hyphens (`{WORKER_ID_PATTERN}`, at most 64 characters).
- Every message carries the AMQP `user_id` property set to the connection's user (RabbitMQ refuses
  any other value), its envelope `source` is `worker/<worker id>` and its data's `worker_id` is the
  worker's own: the registry and the orchestrator drop (and count) any message that speaks for another
  worker, and the orchestrator any report about a session not placed on this worker, or a send not
  handed to it (the exceptions: reporting CONNECTED a session that waits for a worker after an
  outage, which the worker it was moved from adopts; inbound messages from the worker a failover last
  moved the session from).

## Every message
- A CloudEvents {SPEC_VERSION} envelope in structured JSON mode, content type `{CONTENT_TYPE}`: `specversion`,
  `id` (unique; redeliveries keep it), `source`, `type` (the message type, also the routing key),
  `time` (RFC 3339, UTC), optional `subject` (the session id), `datacontenttype`, `correlationid`, `data`.
- AMQP properties: `delivery_mode` 2 (persistent), `message_id` = envelope id, `type` = message type,
  `correlation_id`, `content_type`, `timestamp`, `user_id`. Publish with `mandatory` and publisher
  confirms: an unroutable or unconfirmed message was not delivered. Unknown fields are refused.

## A worker's life
1. Consume your command queue (prefetch 1 keeps a session's commands in order).
2. Publish `worker.register` (at start, and again after every reconnect) with your capacity and your
   heartbeat interval.
3. The registry answers every registration with `worker.sessions.assigned`: the sessions you should
   hold. Restore (as `worker.session.start` with `restore: true`) each one you do not hold, unless you
   handled a `worker.session.stop` for it sent later than its `as_of`. Wait for this answer (up to one
   heartbeat interval) before your first heartbeat: a heartbeat listing no sessions, handled first,
   would make the registry forget them. The answer carries your registration's `correlationid`; only
   the answer to your latest registration counts. Report the status of each session you hold that it
   does not list (`worker.session.status`): if it moved to another worker, you are told to stop it.
4. Publish `worker.heartbeat` every interval (default {DEFAULT_HEARTBEAT_INTERVAL:g} s) with every held session
   and its status, and your CPU and memory use. After `WORKER_MISSED_HEARTBEATS` (default 3) intervals
   without one you are declared offline and your sessions are moved to other workers; your next
   heartbeat or registration brings you back. The registry sums sessions up as
   {', '.join(f'`{b}`' for b in BREAKDOWN_BUCKETS)}.
5. Report what happens to sessions and messages (`worker.session.*`, `worker.message.*`). When the
   registry asks (`worker.register.request`: it lost or removed your record), register again.
6. From your start, a reconnect, a `worker.register.request`, or a stall (your heartbeat loop woke
   more than an interval, at least a second, late) until the answer to your latest registration,
   your sessions may have moved while you could not hear: do not send a `worker.message.send` then,
   answer it with `worker.message.bounced` (the platform routes the message again), unless it carries
   `rerouted: true` (routed again after your bounce, knowing where the session is now): send those.
7. On a graceful shutdown publish `worker.unregister`: your sessions are moved at once.

## Commands
Acknowledge a command once it is done. Reject a malformed one (not an envelope, an unknown type,
data breaking its schema) without requeueing: it goes to your queue's dead-letter queue
`worker.<worker id>.commands.dead-letter`. Requeue a failing one once, then reject it. Commands may
be redelivered: starting a session you hold reports its current state again, and a message id you
already sent is not sent twice.
"""


# ---- the document -------------------------------------------------------------------------------

def _name(message_type: str) -> str:
    """worker.session.pairing_code -> workerSessionPairingCode"""
    words = message_type.replace("_", ".").split(".")
    return words[0] + "".join(w.capitalize() for w in words[1:])


def envelope_schema() -> dict:
    text = lambda high: {"type": "string", "minLength": 1, "maxLength": high}  # noqa: E731
    return {
        "type": "object",
        "description": "The CloudEvents 1.0 envelope (structured JSON mode) every message travels in.",
        "required": ["specversion", "id", "source", "type", "time", "correlationid", "data"],
        "additionalProperties": False,
        "properties": {
            "specversion": {"type": "string", "const": SPEC_VERSION},
            "id": {**text(128), "description": "Unique per message; a redelivery keeps it"},
            "source": {**text(256), "description": "Who sent it: `worker/<worker id>` for a worker"},
            "type": {**text(128), "description": "The message type (also the AMQP routing key and `type`)"},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "maxLength": 256, "description": "The session the message is about"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "correlationid": {**text(128), "description": "Ties together everything one request caused"},
            "data": {"type": "object"},
        },
    }


def _payload(contract: Contract, schemas: SchemaSet) -> dict:
    source = ({"type": "string", "pattern": f"^worker/{WORKER_ID_PATTERN[1:]}"} if contract.kind is Kind.WORKER_UPLINK
              else {"type": "string"})
    return {"allOf": [{"$ref": "#/components/schemas/Envelope"},
                      {"type": "object", "properties": {"type": {"const": contract.type}, "source": source,
                                                        "data": schemas.ref(contract.schema)}}]}


def _example(contract: Contract) -> dict:
    uplink = contract.kind is Kind.WORKER_UPLINK
    data = contract.schema().dump(contract.load(contract.example))
    envelope = {"specversion": SPEC_VERSION, "id": "4f7d1c2a9b8e4e0f8a1b2c3d4e5f6a7b",
                "source": f"worker/{EXAMPLE_WORKER}" if uplink else "session-orchestrator",
                "type": contract.type, "time": "2026-01-01T12:00:00Z", "datacontenttype": "application/json",
                "correlationid": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "data": data}
    if "session_id" in data:
        envelope["subject"] = data["session_id"]
    return {"name": contract.type, "summary": contract.summary, "payload": envelope}


def _message(contract: Contract, schemas: SchemaSet) -> dict:
    return {
        "name": contract.type, "title": contract.type, "summary": contract.summary + ".",
        "contentType": CONTENT_TYPE,
        "correlationId": {"location": "$message.payload#/correlationid"},
        "payload": _payload(contract, schemas),
        "examples": [_example(contract)],
        "bindings": {"amqp": {"messageType": contract.type, "bindingVersion": BINDING_VERSION}},
    }


def build() -> dict:
    schemas = SchemaSet()
    # In the contracts' own order: a worker's life (register, heartbeat, ...), then its commands.
    uplinks = [c for c in CATALOG.values() if c.kind is Kind.WORKER_UPLINK]
    commands = [c for c in CATALOG.values() if c.kind is Kind.WORKER_COMMAND]
    messages = {_name(c.type): _message(c, schemas) for c in [*uplinks, *commands]}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    uplink_exchange = {"name": topology.WORKER_UPLINK, "type": topology.EXCHANGES[topology.WORKER_UPLINK].value,
                       "durable": True, "autoDelete": False, "vhost": "/"}
    for contract in uplinks:
        name = _name(contract.type)
        channels[name] = {
            "address": contract.type, "title": contract.type,
            "description": f"Routing key `{contract.type}` on the `{topology.WORKER_UPLINK}` topic exchange.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": uplink_exchange, "bindingVersion": BINDING_VERSION}},
        }
        operations[f"send{name[0].upper()}{name[1:]}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{name}"}, "summary": contract.summary + ".",
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "timestamp": True,
                                  "bindingVersion": BINDING_VERSION}},
        }
    queue = topology.worker_command_queue("{workerId}")
    channels["workerCommands"] = {
        "address": queue.name, "title": "The worker's command queue",
        "description": (f"The worker's own quorum queue, bound to the `{topology.WORKER_DOWNLINK}` direct exchange "
                        f"with the worker id as routing key; rejected messages go to `{queue.dead_letter_name}`."),
        "parameters": {"workerId": {"description": f"The worker's id (`{WORKER_ID_PATTERN}`)",
                                    "examples": [EXAMPLE_WORKER]}},
        "messages": {_name(c.type): {"$ref": f"#/components/messages/{_name(c.type)}"} for c in commands},
        "bindings": {"amqp": {"is": "queue", "queue": {"name": queue.name, "durable": True, "exclusive": False,
                                                       "autoDelete": False, "vhost": "/"},
                              "bindingVersion": BINDING_VERSION}},
    }
    operations["receiveCommands"] = {
        "action": "receive", "channel": {"$ref": "#/channels/workerCommands"},
        "summary": "Commands for this worker: acknowledge each once done; reject a malformed one without requeue.",
        "messages": [{"$ref": f"#/channels/workerCommands/messages/{_name(c.type)}"} for c in commands],
        "bindings": {"amqp": {"ack": True, "bindingVersion": BINDING_VERSION}},
    }
    schemas.schemas["Envelope"] = envelope_schema()
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "WhatsApp Gateway worker protocol", "version": PROTOCOL_VERSION,
                 "description": DESCRIPTION,
                 "license": {"name": "Proprietary"}},
        "defaultContentType": CONTENT_TYPE,
        "servers": {"rabbitmq": {
            "host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0-9-1", "pathname": "/",
            "description": "The platform's RabbitMQ; the path is the virtual host.",
            "security": [{"$ref": "#/components/securitySchemes/workerCredentials"}],
        }},
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": dict(sorted(schemas.schemas.items())),
            "securitySchemes": {"workerCredentials": {
                "type": "userPassword",
                "description": f"The worker's own RabbitMQ user, `{broker_user_for('<worker id>')}`, "
                               "and its password."}},
        },
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:  # repeated parts are written out, not anchored
        return True


def _text(dumper: yaml.SafeDumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def asyncapi_yaml() -> str:
    header = ("# Generated by tools/docs/generate.py from libs/common/src/wagw_common (contracts, topology);\n"
              "# do not edit by hand.\n")
    return header + yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
