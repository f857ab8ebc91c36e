"""JSON Schema of the contracts' marshmallow schemas, the one converter every document is built with:
the AsyncAPI worker protocol, the webhook event catalog, the message reference and the gateway's OpenAPI.

It says what the code checks: field types, required fields, defaults, nullability, unknown fields
refused, and the validators the contracts use (lengths, ranges, patterns, choices, constants, URLs).
An unknown field type or validator class is an error, so a document never silently says less than the
code checks; a plain function used as a validator (a check across values no keyword can express) is
described by its docstring's first line in the field's description instead."""

from __future__ import annotations

from typing import Any, Callable

from marshmallow import Schema
from marshmallow import fields as mf
from marshmallow import validate as mv

JsonSchema = dict[str, Any]
COMPONENTS = "#/components/schemas/"
# What a field's `metadata` may add to its schema (the gateway's own schemas describe some fields).
METADATA_KEYS = ("description", "example", "examples", "title", "deprecated")


class SchemaSet:
    """Converts schemas, collecting every nested one under its class name (`schemas`) and referring to
    it with `$ref`, as AsyncAPI and OpenAPI documents do. `inline=True` writes nested schemas out in
    place instead, for a self-contained schema (what the webhook event catalog serves). `refer` replaces
    how a nested schema is referred to (OpenAPI: apispec's components, see `json_schema_openapi`)."""

    def __init__(self, *, inline: bool = False, ref_prefix: str = COMPONENTS,
                 refer: Callable[[Schema | type[Schema]], JsonSchema] | None = None) -> None:
        self.inline = inline
        self.ref_prefix = ref_prefix
        self.refer = refer
        self.schemas: dict[str, JsonSchema] = {}
        self._inlining: set[type[Schema]] = set()

    def ref(self, schema_cls: type[Schema]) -> JsonSchema:
        """A reference to the schema (collected on first use), or the schema itself when inline."""
        if self.inline:
            if schema_cls in self._inlining:
                raise TypeError(f"{schema_cls.__name__} contains itself: it cannot be written inline")
            self._inlining.add(schema_cls)
            try:
                return self.object(schema_cls)
            finally:
                self._inlining.discard(schema_cls)
        name = schema_cls.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder against recursion
            self.schemas[name] = self.object(schema_cls)
        return {"$ref": f"{self.ref_prefix}{name}"}

    def object(self, schema_cls: type[Schema]) -> JsonSchema:
        instance = schema_cls()
        properties = {name: self.field(field) for name, field in instance.fields.items()}
        out: JsonSchema = {"type": "object", "properties": properties}
        required = [name for name, field in instance.fields.items() if field.required]
        if required:
            out["required"] = required
        if getattr(instance.Meta, "unknown", None) == "raise":
            out["additionalProperties"] = False
        return out

    def field(self, field: mf.Field[Any]) -> JsonSchema:
        schema = self._kind(field)
        checks = []
        for validator in field.validators:
            if isinstance(validator, mv.Validator):
                schema.update(_validator(validator, schema.get("type")))
            elif validator.__doc__:
                checks.append(validator.__doc__.strip().splitlines()[0])
        if field.allow_none:
            schema = _nullable(schema)
        if checks:
            schema["description"] = "; ".join(checks)
        schema.update({key: field.metadata[key] for key in METADATA_KEYS if key in field.metadata})
        if field.dump_only:
            schema["readOnly"] = True
        if field.load_only:
            schema["writeOnly"] = True
        default = field.load_default
        if default is not mf.missing_ and not callable(default):
            schema["default"] = default
        return schema

    def _kind(self, field: mf.Field[Any]) -> JsonSchema:
        if isinstance(field, mf.Nested):
            if self.refer is not None:
                # The field's own schema instance (apispec makes `many` an array, and a schema narrowed
                # with only/exclude is written out in place).
                return self.refer(field.schema)
            nested = field.nested if isinstance(field.nested, type) else type(field.nested)
            return {"type": "array", "items": self.ref(nested)} if field.many else self.ref(nested)
        if isinstance(field, mf.List):
            return {"type": "array", "items": self.field(field.inner)}
        if isinstance(field, mf.Dict):
            out: JsonSchema = {"type": "object"}
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
        if isinstance(field, mf.Email):
            return {"type": "string", "format": "email"}
        if isinstance(field, mf.String):
            return {"type": "string"}
        if type(field) in (mf.Raw, mf.Field):
            return {}  # any JSON value
        raise TypeError(f"no JSON Schema for {type(field).__name__}")


def _nullable(schema: JsonSchema) -> JsonSchema:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    if "type" not in schema:
        return schema  # any value, null included
    out = {**schema, "type": [schema["type"], "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]  # null is one of the choices too
    if "const" in out:
        out["enum"] = [out.pop("const"), None]
    return out


def _validator(validator: mv.Validator, kind: str | None) -> JsonSchema:
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
    if isinstance(validator, mv.Email):
        return {"format": "email"}
    raise TypeError(f"no JSON Schema for the validator {type(validator).__name__}")


def json_schema_of(schema_cls: type[Schema]) -> JsonSchema:
    """A self-contained JSON Schema (draft 2020-12) of one schema, nested schemas written in place."""
    return SchemaSet(inline=True).object(schema_cls)
