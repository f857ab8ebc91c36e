"""The worker protocol's AsyncAPI document (docs/asyncapi.yaml): valid AsyncAPI 3.0 by the official
JSON Schema and by the AsyncAPI Initiative's own parser, and in agreement with the code: the same
messages as the contracts, payload schemas that accept and refuse what the contracts do, and the
exchange and queue of the topology. (That it is current is test_docs_are_current's job.)"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import jsonschema
import pytest
import yaml
from wagw_common import topology
from wagw_common.contracts import CATALOG, Kind
from wagw_common.envelope import MalformedMessage

from harness.infra import REPO

pytestmark = pytest.mark.unit

DOCUMENT = REPO / "docs" / "asyncapi.yaml"
TOOLS = REPO / "tools" / "asyncapi"
WORKER_KINDS = (Kind.WORKER_UPLINK, Kind.WORKER_COMMAND)


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


@pytest.fixture(scope="module")
def node_tools():
    """The npm packages of tools/asyncapi (scripts/bootstrap.sh installs them; so does this, if missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed (scripts/bootstrap.sh installs them)")
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS, check=True,
                       capture_output=True, timeout=600)
    return TOOLS


def test_the_document_is_valid_by_the_official_asyncapi_3_json_schema(document, node_tools):
    schema = json.loads((node_tools / "node_modules/@asyncapi/specs/schemas/3.0.0.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(document)]
    assert errors == []
    broken = copy.deepcopy(document)
    broken["operations"]["receiveCommands"]["action"] = "consume"
    assert list(validator.iter_errors(broken)), "the schema check must be able to fail"


def test_the_asyncapi_parser_accepts_the_document_without_warnings(node_tools):
    result = subprocess.run(["node", str(node_tools / "validate.mjs"), str(DOCUMENT)], capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["parsed"], report
    assert report["errors"] == [] and report["warnings"] == []


def test_the_document_has_exactly_the_worker_messages_of_the_contracts(document):
    in_code = {c.type for c in CATALOG.values() if c.kind in WORKER_KINDS}
    messages = document["components"]["messages"]
    assert {m["name"] for m in messages.values()} == in_code
    sent = {m["$ref"].rsplit("/", 1)[-1] for op in document["operations"].values() if op["action"] == "send"
            for m in op["messages"]}
    received = {m["$ref"].rsplit("/", 1)[-1] for m in document["operations"]["receiveCommands"]["messages"]}
    by_key = {key: m["name"] for key, m in messages.items()}
    assert {by_key[k] for k in sent} == {c.type for c in CATALOG.values() if c.kind is Kind.WORKER_UPLINK}
    assert {by_key[k] for k in received} == {c.type for c in CATALOG.values() if c.kind is Kind.WORKER_COMMAND}


def test_channels_name_the_exchange_and_queue_of_the_topology(document):
    for channel in document["channels"].values():
        amqp = channel["bindings"]["amqp"]
        if amqp["is"] == "routingKey":
            assert amqp["exchange"]["name"] == topology.WORKER_UPLINK
            assert amqp["exchange"]["type"] == topology.EXCHANGES[topology.WORKER_UPLINK].value
            assert channel["address"] in CATALOG and CATALOG[channel["address"]].kind is Kind.WORKER_UPLINK
        else:
            assert amqp["queue"]["name"] == channel["address"] == topology.worker_command_queue("{workerId}").name


def _validator(document: dict, message_type: str):
    """A JSON Schema validator of one message's whole envelope, with the document's components."""
    message = next(m for m in document["components"]["messages"].values() if m["name"] == message_type)
    root = {"components": document["components"], **message["payload"]}  # so "#/components/..." resolves
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker()), message


def _variants(contract) -> list[dict]:
    """Data the contract refuses: an unknown field, each required field missing, a wrong-typed field."""
    example = contract.example
    broken = [{**example, "surprise": True}]
    required = [name for name, field in contract.schema().fields.items() if field.required]
    broken += [{k: v for k, v in example.items() if k != name} for name in required]
    if "worker_id" in example:
        broken.append({**example, "worker_id": "Not Normalised"})
    if "session_id" in example:
        broken.append({**example, "session_id": "no spaces allowed"})
    return broken


@pytest.mark.parametrize("contract", [c for c in CATALOG.values() if c.kind in WORKER_KINDS], ids=lambda c: c.type)
def test_each_payload_schema_accepts_and_refuses_what_its_contract_does(document, contract):
    validator, message = _validator(document, contract.type)
    [example] = message["examples"]
    assert list(validator.iter_errors(example["payload"])) == []
    assert contract.load(example["payload"]["data"]) == contract.load(contract.example)
    envelope = example["payload"]
    for data in _variants(contract):
        with pytest.raises(MalformedMessage):
            contract.load(data)
        assert list(validator.iter_errors({**envelope, "data": data})), f"the document accepts {data}"
    assert list(validator.iter_errors({**envelope, "type": "worker.other"})), "the type is fixed per message"
