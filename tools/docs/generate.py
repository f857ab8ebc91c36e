"""Generate the reference parts of the documentation from the code that defines them.

- README.md, between the `configuration` markers: every environment variable, from the settings classes;
- README.md, `http-routes`: every route of the gateway, from its router;
- README.md, `socketio`: every Socket.IO event, from the realtime service's catalog;
- docs/realtime.md, `realtime-events`: the frontend's event reference, from the same catalog and protocol;
- docs/webhooks.md, `webhook-events`: the event catalog a webhook endpoint subscribes to, from the contracts;
- docs/metrics.md, `metrics`: every Prometheus metric of every service, from the metric registry (metrics_doc.py);
- docs/messages.md: every command, query, event and worker-protocol message, from the contracts.
- docs/asyncapi.yaml: the worker protocol as an AsyncAPI 3.0 document, from the same contracts (worker_protocol_doc.py).
- docs/topology.md: every service's queues, their options, bindings and handlers, from the routers (topology_doc.py).

`python tools/docs/generate.py` rewrites them; `--check` fails if they are stale (a test runs it)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from marshmallow import Schema

from wagw_common.contracts import CATALOG, Kind
from wagw_common.json_schema import SchemaSet
from wagw_common.services import SERVICES as PLATFORM_SERVICES
from wagw_common.settings import variables_of
from metrics_doc import metrics_reference  # beside this script
from topology_doc import topology_reference  # beside this script
from worker_protocol_doc import asyncapi_yaml  # beside this script

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {**PLATFORM_SERVICES, "worker simulator": "wagw_worker_simulator", "whatsapp worker": "wagw_worker_whatsapp"}
KIND_TITLES = {
    Kind.COMMAND: "Commands (fire and forget, on `wagw.commands`)",
    Kind.QUERY: "Queries (request/reply, on `wagw.commands`)",
    Kind.EVENT: "Domain events (on `wagw.events`)",
    Kind.WORKER_UPLINK: "Worker protocol: what a worker publishes (on `wagw.worker-uplink`)",
    Kind.WORKER_COMMAND: "Worker protocol: what a worker consumes (on `wagw.worker-downlink`, routing key = worker id)",
}


def configuration_table() -> str:
    rows: dict[str, dict] = {}
    for service, package in SERVICES.items():
        settings = importlib.import_module(f"{package}.settings")
        defaults = getattr(settings, "DEFAULTS", {})
        for variable in variables_of(settings.Settings):
            row = rows.setdefault(variable.name, {"variable": variable, "users": [], "defaults": {}})
            row["users"].append(service)
            if variable.name in defaults:
                row["defaults"][service] = defaults[variable.name]
    lines = ["| variable | default | read by | meaning |", "|---|---|---|---|"]
    everyone = len(SERVICES)
    for name in sorted(rows):
        row = rows[name]
        variable = row["variable"]
        if row["defaults"]:
            default = "<br>".join(f"{s}: `{v}`" for s, v in row["defaults"].items())
        else:
            default = f"`{variable.default}`" if variable.default else "(empty)"
        users = "all" if len(row["users"]) == everyone else ", ".join(row["users"])
        lines.append(f"| `{name}` | {default} | {users} | {variable.help} |")
    return "\n".join(lines) + "\n"


def http_routes_table() -> str:
    from wagw_gateway.apidoc import summary_and_description
    from wagw_gateway.app import create_app
    from wagw_gateway.settings import DEFAULTS, Settings
    from wagw_common.settings import load

    app = create_app(load(Settings, {}, **DEFAULTS))
    lines = ["| method | path | authentication | what |", "|---|---|---|---|"]
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        handler = route.handler
        what, _ = summary_and_description(handler)
        auth = getattr(handler, "auth", "none")
        path = route.resource.canonical if route.resource is not None else ""
        lines.append(f"| {route.method} | `{path}` | {auth} | {what} |")
    return "\n".join(lines) + "\n"


def socketio_table() -> str:
    from wagw_realtime.catalog import PUSHES

    by_event: dict[str, dict] = {}
    for domain_event, push in PUSHES.items():
        row = by_event.setdefault(push.socket_event, {"push": push, "causes": []})
        row["causes"].append(f"`{domain_event}`")
    lines = ["| Socket.IO event | sent to | payload | caused by | meaning |", "|---|---|---|---|---|"]
    for name, row in by_event.items():
        push = row["push"]
        audience = "the session's owner and subscribers" if push.audience == "tenant" else "administrators"
        payload = ", ".join(f"`{f}`" for f in push.fields)
        lines.append(f"| `{name}` | {audience} | {payload} | {', '.join(row['causes'])} | {push.summary} |")
    return "\n".join(lines) + "\n"


def realtime_reference() -> str:
    """docs/realtime.md's reference part: every pushed event with an example, client requests, errors."""
    from wagw_realtime.catalog import ADMINS_ROOM, FIELDS, PUSHES, session_room, user_room
    from wagw_realtime.protocol import CONTROL_EVENTS, ERROR_CODES, REQUESTS

    rooms = {"tenant": f"`{user_room('<tenant_id>')}`, `{session_room('<session_id>')}`", "admins": f"`{ADMINS_ROOM}`"}
    by_event: dict[str, dict] = {}
    for domain_event, push in PUSHES.items():
        by_event.setdefault(push.socket_event, {"push": push, "causes": []})["causes"].append(domain_event)
    out = ["### Events the server pushes", "", "| event | rooms | payload | caused by | meaning |",
           "|---|---|---|---|---|"]
    for name, row in by_event.items():
        push = row["push"]
        out.append(f"| `{name}` | {rooms[push.audience]} | {', '.join(f'`{f}`' for f in push.fields)} | "
                   f"{', '.join(f'`{c}`' for c in row['causes'])} | {push.summary} |")
    for name, row in by_event.items():
        contract = CATALOG[row["causes"][0]]
        example = row["push"].payload(contract.schema().dump(contract.load(contract.example)))
        out += ["", f"#### `{name}`", "", row["push"].summary + ".", "", "```json", json.dumps(example, indent=2),
                "```"]
    out += ["", "### Payload fields", "", "| field | meaning |", "|---|---|"]
    out += [f"| `{name}` | {meaning} |" for name, meaning in FIELDS.items()]
    out += ["", "### Requests a client sends", "", "| event | payload | ack on success | what |", "|---|---|---|---|"]
    out += [f"| `{r.name}` | {r.payload} | {r.ack} | {r.summary} |" for r in REQUESTS]
    out += ["", "A failed request's ack is `{ok: false, error: {code, message, details}}`, and the same error comes as "
            "an `error` event.", "", "### Control events", "", "| event | payload | meaning |", "|---|---|---|"]
    out += [f"| `{name}` | {payload} | {meaning} |" for name, payload, meaning in CONTROL_EVENTS]
    out += ["", "### Error codes", "", "| code | where | meaning |", "|---|---|---|"]
    out += [f"| `{code}` | {where} | {meaning} |" for code, (where, meaning) in ERROR_CODES.items()]
    return "\n".join(out) + "\n"


def webhook_events_reference() -> str:
    """docs/webhooks.md's catalog: each subscribable event, its data's fields and a whole example body."""
    from wagw_common.contracts.webhooks import event_catalog

    catalog = event_catalog()
    out = ["| event type | what happened |", "|---|---|"]
    out += [f"| [`{e['type']}`](#{e['type'].replace('.', '')}) | {e['summary']} |" for e in catalog]
    for entry in catalog:
        out += ["", f"### `{entry['type']}`", "", entry["summary"] + ".", ""]
        out += _schema_table(CATALOG[entry["type"]].schema)
        out += ["", "```json", json.dumps(entry["example"], indent=2), "```"]
    return "\n".join(out) + "\n"


def _describe(schema: dict) -> str:
    """A field's type in words, from its JSON Schema (the same the AsyncAPI document carries)."""
    if "$ref" in schema:
        return f"object ({schema['$ref'].rsplit('/', 1)[-1]})"
    if "oneOf" in schema:  # a nullable object: nullability has its own column
        return _describe(next(s for s in schema["oneOf"] if s.get("type") != "null"))
    kind = schema["type"][0] if isinstance(schema["type"], list) else schema["type"]
    if kind == "array":
        kind = f"array of {_describe(schema['items'])}"
    elif kind == "object" and "additionalProperties" in schema:
        kind = f"object of {_describe(schema['additionalProperties'])}"
    elif "format" in schema:
        kind = {"date-time": "date-time", "uri": "URL"}[schema["format"]]
    if "enum" in schema:  # null is in a nullable field's choices: its own column says so
        kind += " one of " + ", ".join(f"`{c}`" for c in schema["enum"] if c is not None)
    return kind


def _schema_table(schema_cls: type[Schema]) -> list[str]:
    schema = SchemaSet().object(schema_cls)
    lines = ["| field | type | required |", "|---|---|---|"]
    for name, field in schema["properties"].items():
        nullable = "oneOf" in field or isinstance(field.get("type"), list)
        required = "yes" if name in schema.get("required", ()) else ("no, may be null" if nullable else "no")
        lines.append(f"| `{name}` | {_describe(field)} | {required} |")
    return lines


def messages_reference() -> str:
    out = ["# Message reference", "",
           "Generated by `tools/docs/generate.py` from `libs/common/src/wagw_common/contracts`; do not edit by hand.",
           "", "Every message is a CloudEvents 1.0 envelope in structured JSON mode "
           "(`content-type: application/cloudevents+json`): `specversion`, `id`, `source`, `type`, `time`, "
           "`subject`, `datacontenttype`, `correlationid` and `data`, the payload below. The AMQP properties repeat "
           "`message_id`, `correlation_id` and `type`; messages are persistent.", ""]
    for kind, title in KIND_TITLES.items():
        out += [f"## {title}", ""]
        for contract in sorted((c for c in CATALOG.values() if c.kind is kind), key=lambda c: c.type):
            out += [f"### `{contract.type}`", "", contract.summary + ".", ""]
            out += _schema_table(contract.schema)
            out += ["", "```json", json.dumps(contract.example, indent=2), "```", ""]
            if contract.reply is not None:
                out += ["Reply `result`:", ""] + _schema_table(contract.reply)
                out += ["", "```json", json.dumps(contract.reply_example, indent=2), "```", ""]
    return "\n".join(out)


def _replace_between(text: str, marker: str, content: str) -> str:
    begin, end = f"<!-- BEGIN GENERATED {marker} -->", f"<!-- END GENERATED {marker} -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}{end}{tail}"


def outputs() -> dict[Path, str]:
    readme = ROOT / "README.md"
    text = readme.read_text()
    for marker, content in (("configuration", configuration_table()), ("http-routes", http_routes_table()),
                            ("socketio", socketio_table())):
        text = _replace_between(text, marker, content)
    realtime = ROOT / "docs" / "realtime.md"
    webhooks = ROOT / "docs" / "webhooks.md"
    metrics = ROOT / "docs" / "metrics.md"
    return {
        readme: text,
        ROOT / "docs" / "messages.md": messages_reference(),
        ROOT / "docs" / "asyncapi.yaml": asyncapi_yaml(),
        ROOT / "docs" / "topology.md": topology_reference(),
        realtime: _replace_between(realtime.read_text(), "realtime-events", realtime_reference()),
        webhooks: _replace_between(webhooks.read_text(), "webhook-events", webhook_events_reference()),
        metrics: _replace_between(metrics.read_text(), "metrics", metrics_reference()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args()
    stale = []
    for path, content in outputs().items():
        current = path.read_text() if path.exists() else ""
        if current != content:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    if args.check and stale:
        print("stale, run `make docs`:", ", ".join(map(str, stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
