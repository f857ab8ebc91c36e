"""Credentials that end while connected, and the limits: fakes, plus the Redis quota for real."""

import asyncio
import time
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from harness.infra import redis_database
from wagw_common.errors import RemoteError, Unavailable
from wagw_realtime.connections import check_credentials, when_user_room_closes_end_its_logins
from wagw_realtime.limits import ConnectionQuota, TokenBucket
from wagw_realtime.sockets import when_client_connects_authenticate

KEY = {"key_id": "k_1", "tenant_id": "u_7", "session_id": "s_1", "scopes": ["*"]}
VIEW = {"session_id": "s_1", "status": "CONNECTED", "sequence": 3}


async def connected(edge, auth, sid="sid1"):
    await when_client_connects_authenticate(sid, {}, auth, edge=edge)
    edge.sio.manager.connected.add(sid)
    for task in list(edge.checks):
        await task
    edge.sio.emitted.clear()
    return edge.connections.get(sid)


@pytest.mark.unit
async def test_a_token_is_warned_once_before_it_expires_then_the_connection_ends(fakes):
    edge = fakes.edge()
    connection = await connected(edge, {"token": fakes.token(ttl=timedelta(minutes=5))})
    expires = connection.identity.expires_at
    await check_credentials(edge, expires - 120)
    assert edge.sio.emitted == []
    await check_credentials(edge, expires - 30)
    await check_credentials(edge, expires - 29)
    [warning] = edge.sio.events("auth.expiring")
    assert warning["seconds_left"] == 30 and warning["expires_at"].endswith("+00:00")
    await check_credentials(edge, expires + 0.1)
    assert edge.sio.events("auth.ended") == [{"code": "token_expired", "message": "the access token expired"}]
    assert edge.sio.disconnected == ["sid1"]


@pytest.mark.unit
async def test_a_revoked_key_ends_its_connection_at_the_next_check(fakes):
    rpc = fakes.Rpc(apikey_resolve=KEY, session_get=VIEW)
    edge = fakes.edge(rpc=rpc)
    connection = await connected(edge, {"api_key": "wagw_sk_secret"})
    assert connection.next_key_check >= time.time() + fakes.settings.api_key_recheck_seconds - 5
    await check_credentials(edge, time.time())  # not due yet: no call
    assert [t for t, _ in rpc.calls] == ["apikey.resolve", "session.get"]

    rpc.replies["apikey.resolve"] = Unavailable("gateway restarting")  # not a reason to drop anyone
    await check_credentials(edge, connection.next_key_check)
    for task in list(edge.checks):
        await task
    assert edge.sio.disconnected == []

    rpc.replies["apikey.resolve"] = RemoteError("not_found", "unknown or revoked API key")
    await check_credentials(edge, connection.next_key_check)
    for task in list(edge.checks):
        await task
    assert edge.sio.events("auth.ended") == [{"code": "key_revoked", "message": "the API key was revoked"}]
    assert edge.sio.disconnected == ["sid1"]


@pytest.mark.unit
async def test_a_closed_user_room_ends_that_users_token_connections_only(fakes):
    rpc = fakes.Rpc(apikey_resolve=KEY, session_get=VIEW)
    edge = fakes.edge(rpc=rpc)
    await connected(edge, {"token": fakes.token("u_7")}, sid="token")
    await connected(edge, {"api_key": "wagw_sk_secret"}, sid="key")  # u_7's session key: other credentials
    await when_user_room_closes_end_its_logins("session:s_1", ["key"], edge=edge)  # not a user room
    await when_user_room_closes_end_its_logins("user:u_7", ["token", "key", "gone"], edge=edge)
    [ended] = edge.sio.events("auth.ended")
    assert ended["code"] == "logins_ended" and edge.sio.disconnected == ["token"]


@pytest.mark.unit
def test_the_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(60, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [0, 0, 0, 1.0]
    now[0] += 1.0
    assert bucket.take() == 0 and bucket.take() > 0


@pytest.mark.integration
async def test_the_connection_quota_counts_across_replicas_and_lapses_with_a_dead_one():
    with redis_database() as url:
        redis = aioredis.Redis.from_url(url)
        owner = f"user:u_quota_{time.time_ns()}"
        try:
            replica_a, replica_b = ConnectionQuota(redis, 2, ttl=1), ConnectionQuota(redis, 2, ttl=1)
            assert await replica_a.admit(owner, "a1") and await replica_b.admit(owner, "b1")
            assert not await replica_b.admit(owner, "b2")  # the limit holds across replicas
            await replica_a.release(owner, "a1")
            assert await replica_b.admit(owner, "b2")
            # B renews only b1 (b2 stands for a connection of a replica that died): after the TTL, b2 lapsed.
            await asyncio.sleep(1.1)
            await replica_b.renew([(owner, "b1")])
            assert await replica_a.admit(owner, "a3")  # b2 lapsed (never renewed), b1 renewed: 2 of 2
            assert not await replica_a.admit(owner, "a4")
        finally:
            await redis.delete(f"realtime:connections:{owner}")
            await redis.aclose()


@pytest.mark.unit
async def test_an_unreachable_redis_lets_connections_in():
    quota = ConnectionQuota(aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), 1)
    assert await quota.admit("user:u_1", "s1") and await quota.admit("user:u_1", "s2")
    await quota.release("user:u_1", "s1")
    await quota.renew([("user:u_1", "s2")])
