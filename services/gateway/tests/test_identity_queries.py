"""`apikey.resolve` and `account.standing`: the gateway tells other services (realtime) whom an API
key speaks for, by its hash, and whether an account stands; asked through the gateway's router on
the in-memory broker, as realtime asks them."""

import pytest
from wagw_common import topology
from wagw_common.contracts import contract_for
from wagw_common.contracts.identity import api_key_digest
from wagw_common.errors import RemoteError
from wagw_common.testing import serve

from wagw_gateway.router import router

pytestmark = pytest.mark.unit


@pytest.fixture
async def ask(gateway):
    """Ask the gateway a question as realtime does; the reply is checked against its contract."""
    async with serve(router, gateway, gateway.broker) as rpc:
        async def question(request_type: str, **data) -> dict:
            return contract_for(request_type).reply().load(await rpc.call(request_type, data))

        yield question


async def test_a_session_key_resolves_to_its_session_with_every_scope(gateway, token_for, ask):
    token_for("u_1")  # the account exists
    key, _ = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    found = await ask("apikey.resolve", key_hash=api_key_digest(key))
    assert (found["tenant_id"], found["session_id"], found["scopes"]) == ("u_1", "s_1", ["*"])


async def test_unknown_and_revoked_keys_are_not_found(gateway, token_for, ask):
    token_for("u_1")
    key, granted = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    with pytest.raises(RemoteError) as unknown:
        await ask("apikey.resolve", key_hash=api_key_digest(key + "x"))
    await gateway.api_keys.revoke("u_1", granted.key_id)
    with pytest.raises(RemoteError) as revoked:
        await ask("apikey.resolve", key_hash=api_key_digest(key))
    assert unknown.value.code == revoked.value.code == "not_found"


def test_the_gateway_consumes_its_catalogued_queues():
    router.check()
    assert {q.spec.name for q in router} == {spec.name for spec in topology.SERVICE_QUEUES["gateway"]}
    assert router.handled_types() == {"apikey.resolve", "account.standing", "session.deleted"}


async def test_a_deactivated_accounts_keys_are_not_found(gateway, token_for, ask):
    token_for("u_1")
    key, _ = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    assert (await ask("apikey.resolve", key_hash=api_key_digest(key)))["tenant_id"] == "u_1"
    gateway.users.collection.docs["u_1"]["active"] = False
    gateway.accounts.redis.values.clear()
    with pytest.raises(RemoteError, match="unknown or revoked"):
        await ask("apikey.resolve", key_hash=api_key_digest(key))


async def test_an_accounts_standing_follows_its_password_changes_and_deactivation(gateway, token_for, ask):
    """`account.standing`: what realtime needs to refuse the tokens the gateway refuses."""
    token_for("u_1")
    assert await ask("account.standing", user_id="u_1") == {"user_id": "u_1", "active": True, "token_generation": 0}
    gateway.users.collection.docs["u_1"].update(active=False, token_generation=1)
    gateway.accounts.redis.values.clear()
    assert await ask("account.standing", user_id="u_1") == {"user_id": "u_1", "active": False,
                                                            "token_generation": 1}
    with pytest.raises(RemoteError) as gone:
        await ask("account.standing", user_id="u_gone")
    assert gone.value.code == "not_found"
