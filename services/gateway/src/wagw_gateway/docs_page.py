"""The API reference as one self-contained HTML page (no script, no CDN), rendered from the OpenAPI
document: every operation by tag, with its authentication, parameters, body and answers, and every
schema with its fields."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h2{border-bottom:1px solid #ddd;margin-top:2.5rem}code,pre{font:13px ui-monospace,monospace}
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5rem;font-weight:700}.get{color:#0a6}.post{color:#06c}.patch{color:#a60}
.delete{color:#c22}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}"""


def _ref_name(schema: Any) -> str:
    if isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    return f"<pre>{escape(json.dumps(schema, indent=1))}</pre>"


def _operation(method: str, path: str, op: dict[str, Any]) -> str:
    out = [f'<div class="op" id="{escape(op["operationId"])}"><div><span class="m {method}">{method.upper()}</span>'
           f"<code>{escape(path)}</code></div><p><b>{escape(op.get('summary', ''))}</b></p>"]
    if op.get("description") and op["description"] != op.get("summary"):
        out.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        out.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>")
        for p in params:
            out.append(f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                       f"<td>{'yes' if p.get('required') else 'no'}</td>"
                       f"<td><code>{escape(json.dumps(p.get('schema', {})))}</code></td></tr>")
        out.append("</table>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        out.append(f"<p>Body: {_ref_name(body['schema'])}</p>")
    out.append("<p>Answers:</p><ul>")
    for status, answer in op["responses"].items():
        content = next(iter(answer.get("content", {}).values()), None)
        shape = _ref_name(content["schema"]) if content else "no body"
        out.append(f"<li><b>{escape(status)}</b> {escape(answer.get('description', ''))}: {shape}</li>")
    out.append("</ul></div>")
    return "".join(out)


def render(document: dict[str, Any]) -> str:
    by_tag: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append(_operation(method, path, op))
    info = document["info"]
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(info['title'])}</title>",
             f"<style>{_STYLE}</style><h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>",
             f"<p>{escape(info.get('description', ''))}</p>",
             '<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>']
    for tag, ops in by_tag.items():
        parts.append(f"<h2>{escape(tag)}</h2>{''.join(ops)}")
    parts.append("<h2>Schemas</h2>")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        parts.append(f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>'
                     f"<pre>{escape(json.dumps(schema, indent=1))}</pre>")
    return "".join(parts) + "</html>"
