"""A session's QR value as the image a phone scans (segno: pure Python, PNG and SVG)."""

from __future__ import annotations

import io

import segno
from marshmallow import fields, validate

from wagw_common.contracts import StrictSchema

CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


class QrQuery(StrictSchema):
    format = fields.String(load_default="raw", validate=validate.OneOf(("raw", *CONTENT_TYPES)))


def render_qr(value: str, kind: str) -> tuple[bytes, str]:
    """The QR code of `value` as `png` or `svg`, scaled for a screen, with the quiet zone phones need."""
    buffer = io.BytesIO()
    options = {"xmldecl": False} if kind == "svg" else {}
    segno.make(value, error="m").save(buffer, kind=kind, scale=8, border=4, **options)
    return buffer.getvalue(), CONTENT_TYPES[kind]
