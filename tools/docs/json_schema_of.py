"""JSON Schema (draft 07, as AsyncAPI 3.0 takes it) of the contracts' marshmallow schemas: field types,
required fields, defaults, nullability, unknown fields refused, and the validators the contracts use
(lengths, ranges, patterns, choices, constants, URLs). An unknown field type or validator is an error,
so the document never silently says less than the code checks."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import fields as mf
from marshmallow import validate as mv


class SchemaSet:
    """Collects the JSON Schemas of the nested marshmallow schemas, by class name."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict] = {}

    def ref(self, schema_cls: type[Schema]) -> dict:
        name = schema_cls.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder against recursion
            self.schemas[name] = self.object(schema_cls)
        return {"$ref": f"#/components/schemas/{name}"}

    def object(self, schema_cls: type[Schema]) -> dict:
        instance = schema_cls()
        properties = {name: self.field(field) for name, field in instance.fields.items()}
        out: dict[str, Any] = {"type": "object", "properties": properties}
        required = [name for name, field in instance.fields.items() if field.required]
        if required:
            out["required"] = required
        if getattr(instance.Meta, "unknown", None) == "raise":
            out["additionalProperties"] = False
        return out

    def field(self, field: mf.Field) -> dict:
        schema = self._kind(field)
        for validator in field.validators:
            schema.update(_validator(validator, schema.get("type")))
        default = field.load_default
        if default is not mf.missing_ and not callable(default):
            schema["default"] = default
        if field.allow_none:
            if "$ref" in schema:
                schema = {"oneOf": [schema, {"type": "null"}]}
            else:
                schema["type"] = [schema["type"], "null"]
        return schema

    def _kind(self, field: mf.Field) -> dict:
        if isinstance(field, mf.Nested):
            nested = field.nested if isinstance(field.nested, type) else type(field.nested)
            return self.ref(nested)
        if isinstance(field, mf.List):
            return {"type": "array", "items": self.field(field.inner)}
        if isinstance(field, mf.Dict):
            out: dict[str, Any] = {"type": "object"}
            if field.value_field is not None:
                out["additionalProperties"] = self.field(field.value_field)
            return out
        if isinstance(field, mf.DateTime):
            return {"type": "string", "format": "date-time"}
        if isinstance(field, mf.Boolean):
            return {"type": "boolean"}
        if isinstance(field, mf.Integer):
            return {"type": "integer"}
        if isinstance(field, mf.Number):
            return {"type": "number"}
        if isinstance(field, mf.String):
            return {"type": "string"}
        raise TypeError(f"no JSON Schema for {type(field).__name__}")


def _validator(validator: mv.Validator, kind: str | None) -> dict:
    if isinstance(validator, mv.Length):
        low, high = ("minItems", "maxItems") if kind == "array" else ("minLength", "maxLength")
        return {k: v for k, v in ((low, validator.min), (high, validator.max)) if v is not None}
    if isinstance(validator, mv.Range):
        out = {}
        if validator.min is not None:
            out["minimum" if validator.min_inclusive else "exclusiveMinimum"] = validator.min
        if validator.max is not None:
            out["maximum" if validator.max_inclusive else "exclusiveMaximum"] = validator.max
        return out
    if isinstance(validator, mv.Regexp):
        return {"pattern": validator.regex.pattern}
    if isinstance(validator, mv.OneOf):
        return {"enum": list(validator.choices)}
    if isinstance(validator, mv.Equal):
        return {"const": validator.comparable}
    if isinstance(validator, mv.URL):
        return {"format": "uri"}
    raise TypeError(f"no JSON Schema for the validator {type(validator).__name__}")
