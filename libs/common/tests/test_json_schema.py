"""The one marshmallow -> JSON Schema converter: what each field and validator becomes, as references
(AsyncAPI, OpenAPI) or written in place (the webhook event catalog), and the same in apispec's plugin."""

import jsonschema
import pytest
from apispec import APISpec
from marshmallow import Schema, fields, validate

from wagw_common.json_schema import SchemaSet, json_schema_of
from wagw_common.json_schema_openapi import MarshmallowPlugin

pytestmark = pytest.mark.unit


class Point(Schema):
    x = fields.Float(required=True, validate=validate.Range(min=-1, max=1, max_inclusive=False))


def _even(value):
    """An even number."""
    if value % 2:
        raise ValueError("odd")


class Shape(Schema):
    class Meta:
        unknown = "raise"

    kind = fields.String(required=True, validate=validate.OneOf(("dot", "line")))
    mood = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(("calm", "cross")))
    origin = fields.Nested(Point, allow_none=True, load_default=None)
    points = fields.Nested(Point, many=True)
    tags = fields.List(fields.String(validate=validate.Length(max=8)), validate=validate.Length(max=3))
    labels = fields.Dict(keys=fields.String(), values=fields.Integer())
    sides = fields.Integer(validate=_even, metadata={"description": "how many"})
    secret = fields.String(load_only=True)
    seen = fields.AwareDateTime(dump_only=True)
    site = fields.Url()
    anything = fields.Raw(allow_none=True)


def test_fields_validators_and_references():
    schemas = SchemaSet()
    shape = schemas.object(Shape)
    props = shape["properties"]
    assert shape["required"] == ["kind"] and shape["additionalProperties"] is False
    assert props["kind"] == {"type": "string", "enum": ["dot", "line"]}
    assert props["mood"] == {"type": ["string", "null"], "enum": ["calm", "cross", None], "default": None}
    assert props["origin"] == {"oneOf": [{"$ref": "#/components/schemas/Point"}, {"type": "null"}], "default": None}
    assert props["points"] == {"type": "array", "items": {"$ref": "#/components/schemas/Point"}}
    assert props["tags"] == {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 3}
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["sides"] == {"type": "integer", "description": "how many"}  # metadata says more than the docstring
    assert props["secret"] == {"type": "string", "writeOnly": True}
    assert props["seen"] == {"type": "string", "format": "date-time", "readOnly": True}
    assert props["site"] == {"type": "string", "format": "uri"}
    assert props["anything"] == {}
    assert schemas.schemas["Point"]["properties"]["x"] == {"type": "number", "minimum": -1, "exclusiveMaximum": 1}


def test_a_plain_function_validator_is_described_by_its_docstring():
    class Even(Schema):
        n = fields.Integer(validate=_even)

    assert SchemaSet().object(Even)["properties"]["n"] == {"type": "integer", "description": "An even number."}


def test_written_in_place_it_validates_what_the_schema_loads():
    schema = json_schema_of(Shape)
    assert "$ref" not in str(schema)
    good = {"kind": "dot", "mood": None, "origin": {"x": 0.5}, "points": [{"x": -1}], "tags": ["a"], "sides": 4}
    Shape().load(good)
    jsonschema.validate(good, schema)
    for bad in ({"kind": "circle"}, {"kind": "dot", "mood": "sad"}, {"kind": "dot", "origin": {"x": 1}},
                {"kind": "dot", "extra": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_a_field_type_it_does_not_know_is_an_error_not_a_silent_gap():
    class Odd(Schema):
        when = fields.TimeDelta()

    with pytest.raises(TypeError, match="TimeDelta"):
        SchemaSet().object(Odd)


def test_the_openapi_plugin_writes_fields_with_the_same_converter():
    plugin = MarshmallowPlugin()
    spec = APISpec(title="t", version="1", openapi_version="3.1.0", plugins=[plugin])
    spec.components.schema("Shape", schema=Shape)
    document = spec.to_dict()["components"]["schemas"]
    ours = SchemaSet().object(Shape)["properties"]
    assert document["Shape"]["properties"] == ours
    assert document["Point"]["properties"] == SchemaSet().object(Point)["properties"]
