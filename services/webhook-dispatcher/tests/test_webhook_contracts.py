"""The webhook contracts: what a customer may ask for, and the event catalog built from the contracts."""

import pytest

from wagw_common.contracts import CATALOG, Kind, contract_for
from wagw_common.contracts.webhooks import SUBSCRIBABLE_FAMILIES, event_catalog
from wagw_common.envelope import MalformedMessage

pytestmark = pytest.mark.unit
BASE = {"tenant_id": "u_1", "url": "https://example.com/h"}


def test_custom_headers_cannot_override_what_the_dispatcher_sets():
    with pytest.raises(MalformedMessage) as caught:
        contract_for("webhook.endpoint.create").load({**BASE, "headers": {
            "webhook-signature": "v1,forged", "Content-Type": "text/plain", "bad name": "x", "X-Ok": "fine",
            "x-two": "a", "X-Two": "b", "x-newline": "a\r\nb"}})
    named = {problem.split(":")[0] for problem in caught.value.details["headers"]}
    assert named == {"webhook-signature", "Content-Type", "bad name", "X-Two", "x-newline"}
    many = {f"x-h{i}": "v" for i in range(21)}
    with pytest.raises(MalformedMessage):
        contract_for("webhook.endpoint.create").load({**BASE, "headers": many})
    assert contract_for("webhook.endpoint.create").load({**BASE, "headers": {"Authorization": "Bearer t"}})


def test_an_update_must_change_something_and_may_lift_the_session_restriction():
    update = contract_for("webhook.endpoint.update")
    with pytest.raises(MalformedMessage):
        update.load({"tenant_id": "u_1", "endpoint_id": "wh_1"})
    assert update.load({"tenant_id": "u_1", "endpoint_id": "wh_1", "session_id": None})["session_id"] is None


@pytest.mark.parametrize("url", ["ftp://example.com/h", "example.com/h", "http://", "javascript:alert(1)"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(MalformedMessage):
        contract_for("webhook.endpoint.create").load({**BASE, "url": url})


def test_the_catalog_lists_every_subscribable_event_with_a_schema_and_a_valid_example():
    catalog = event_catalog()
    expected = sorted(c.type for c in CATALOG.values()
                      if c.kind is Kind.EVENT and c.type.split(".")[0] in SUBSCRIBABLE_FAMILIES)
    assert [e["type"] for e in catalog] == expected and "message.sent" in expected
    assert not any(t.startswith(("webhook.", "worker.")) for t in expected)
    for entry in catalog:
        assert entry["example"]["type"] == entry["type"] and entry["summary"]
        contract_for(entry["type"]).load(entry["example"]["data"])
        assert set(entry["schema"]["required"]) <= set(entry["schema"]["properties"])
        assert set(entry["example"]["data"]) <= set(entry["schema"]["properties"])


def test_delivery_jobs_of_the_previous_version_still_load():
    assert contract_for("webhook.delivery.attempt").load({"delivery_id": "dl_1"}) == {
        "delivery_id": "dl_1", "cycle": 1, "attempt": 1, "deferrals": 0, "ticket": None}  # no ticket: claims
