"""`apikey.resolve`: the gateway tells other services (realtime) whom an API key speaks for, by its hash."""

import pytest

from wagw_common import topology
from wagw_common.contracts import contract_for
from wagw_common.contracts.identity import api_key_digest
from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound
from wagw_gateway.identity_queries import (identity_subscription, when_account_standing_requested_answer_it,
                                           when_api_key_resolve_requested_answer_its_owner)

pytestmark = pytest.mark.unit


async def resolve(api_keys, key: str) -> dict:
    contract = contract_for("apikey.resolve")
    envelope = Envelope(type="apikey.resolve", source="realtime", data=contract.load({"key_hash": api_key_digest(key)}))
    result = await when_api_key_resolve_requested_answer_its_owner(envelope, api_keys=api_keys)
    return contract.reply().load(result)  # the reply honours its contract


async def test_a_session_key_resolves_to_its_session_with_every_scope(gateway):
    key, _ = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    found = await resolve(gateway.api_keys, key)
    assert (found["tenant_id"], found["session_id"], found["scopes"]) == ("u_1", "s_1", ["*"])


async def test_unknown_and_revoked_keys_are_not_found(gateway):
    key, granted = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    with pytest.raises(NotFound):
        await resolve(gateway.api_keys, key + "x")
    await gateway.api_keys.revoke("u_1", granted.key_id)
    with pytest.raises(NotFound):
        await resolve(gateway.api_keys, key)


def test_the_gateway_consumes_its_identity_queue(gateway):
    subscription = identity_subscription(gateway.api_keys, gateway.accounts)
    assert subscription.queue is topology.GATEWAY_QUERIES
    assert set(subscription.handlers) == {"apikey.resolve", "account.standing"}
    assert topology.GATEWAY_QUERIES in topology.SERVICE_QUEUES["gateway"]


async def test_a_deactivated_accounts_keys_are_not_found(gateway, token_for):
    answer = when_api_key_resolve_requested_answer_its_owner
    token_for("u_1")  # the account exists
    key, _ = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    contract = contract_for("apikey.resolve")
    envelope = Envelope(type="apikey.resolve", source="realtime", data=contract.load({"key_hash": api_key_digest(key)}))
    assert (await answer(envelope, api_keys=gateway.api_keys, accounts=gateway.accounts))["tenant_id"] == "u_1"
    gateway.users.collection.docs["u_1"]["active"] = False
    gateway.accounts.redis.values.clear()
    with pytest.raises(NotFound):
        await answer(envelope, api_keys=gateway.api_keys, accounts=gateway.accounts)


async def test_an_accounts_standing_follows_its_password_changes_and_deactivation(gateway, token_for):
    """`account.standing`: what realtime needs to refuse the tokens the gateway refuses."""
    contract = contract_for("account.standing")

    async def standing(user_id: str) -> dict:
        envelope = Envelope(type="account.standing", source="realtime", data=contract.load({"user_id": user_id}))
        return contract.reply().load(await when_account_standing_requested_answer_it(envelope,
                                                                                      accounts=gateway.accounts))

    token_for("u_1")
    assert await standing("u_1") == {"user_id": "u_1", "active": True, "token_generation": 0}
    gateway.users.collection.docs["u_1"].update(active=False, token_generation=1)
    gateway.accounts.redis.values.clear()
    assert await standing("u_1") == {"user_id": "u_1", "active": False, "token_generation": 1}
    with pytest.raises(NotFound):
        await standing("u_gone")
