"""apispec's marshmallow plugin with the platform's one converter (`json_schema`) writing each field,
so an OpenAPI document says of a field exactly what the AsyncAPI document and the message reference say.
apispec keeps what is OpenAPI's own: components, references, parameters, required lists."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin as _MarshmallowPlugin
from apispec.ext.marshmallow import OpenAPIConverter
from marshmallow import fields as mf

from .json_schema import SchemaSet


class _Converter(OpenAPIConverter):
    def field2property(self, field: mf.Field[Any]) -> dict[str, Any]:
        return SchemaSet(refer=self.resolve_nested_schema).field(field)


class MarshmallowPlugin(_MarshmallowPlugin):
    Converter = _Converter
