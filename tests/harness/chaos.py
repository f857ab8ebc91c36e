"""Traffic and its audit for the chaos tests: customers keep sending (with Idempotency-Key, retrying
what was not accepted, as a careful client does) and phones keep writing in while a fault is injected;
then every accepted message and every event must be accounted for, once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp

from .api import GatewayClient
from .flows import wait_until
from .platform_run import PlatformRun
from .sink import WebhookSink

DONE = {"sent", "delivered", "read"}
RETRIED = {409, 429, 500, 502, 503, 504}  # busy, limited or unavailable: the same request again, same key


@dataclass
class Traffic:
    """Sends through every session (`period` seconds apart per session) and inbound messages through the
    simulated phones, until `stop()`; records what the platform accepted."""

    run: PlatformRun
    api: GatewayClient
    http: aiohttp.ClientSession
    keys: dict[str, str]  # session id -> its API key
    period: float = 0.5
    inbound_every: int = 4  # one inbound message per this many sends
    accepted: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> message id
    replies: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # key -> every id answered
    given_up: int = 0
    answers: Counter = field(default_factory=Counter)
    inbound: dict[str, str] = field(default_factory=dict)  # text -> session id, accepted by a worker
    started_at: str = ""  # history is read from here on (a bound for the query, with a margin)
    # In every text this round sends: what tells its messages from a previous round's, which may have
    # been stored within the margin above.
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def start(self) -> "Traffic":
        self.started_at = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        self._tasks = [asyncio.create_task(self._session_loop(sid, n)) for n, sid in enumerate(self.keys)]
        return self

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _session_loop(self, session_id: str, n: int) -> None:
        await asyncio.sleep(n * self.period / max(1, len(self.keys)))
        count = 0
        while not self._stop.is_set():
            count += 1
            await self._send(session_id, f"{session_id} {self.tag} #{count} {uuid.uuid4().hex[:6]}")
            if count % self.inbound_every == 0:
                await self._inbound(session_id)
            try:
                async with asyncio.timeout(self.period):
                    await self._stop.wait()
            except asyncio.TimeoutError:
                pass

    async def _send(self, session_id: str, text: str, patience: float = 90.0) -> None:
        key = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while loop.time() < deadline:
            try:
                status, body, _ = await self.api.request(
                    "POST", "/send", api_key=self.keys[session_id], headers={"Idempotency-Key": key},
                    json={"to": "+628123456789", "text": text}, timeout=aiohttp.ClientTimeout(total=30))
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                status, body = 0, None
            self.answers[status] += 1
            if status == 202:
                self.accepted[key] = body["message_id"]
                self.replies[key].add(body["message_id"])
                return
            assert status in RETRIED or status == 0, f"send refused for good: {status} {body}"
            await asyncio.sleep(0.5)
        self.given_up += 1

    async def _inbound(self, session_id: str) -> None:
        text = f"inbound {uuid.uuid4().hex}"
        for worker_url in (p.url for p in self.run.workers.values() if p.alive):
            try:
                async with self.http.post(f"{worker_url}/sessions/{session_id}/inbound", json={"text": text},
                                          timeout=aiohttp.ClientTimeout(total=10)) as r:
                    if r.status == 202:
                        self.inbound[text] = session_id
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                continue

    def summary(self) -> dict:
        return {"accepted": len(self.accepted), "inbound": len(self.inbound), "given_up": self.given_up,
                "answers": dict(self.answers)}


async def _history(api: GatewayClient, token: str, session_id: str, since: str) -> list[dict] | None:
    found, cursor = [], None
    while True:
        query = {"limit": "200", "since": since, **({"before": cursor} if cursor else {})}
        status, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=token, params=query)
        if status != 200:
            return None  # busy or still reconnecting: ask again
        found += page["messages"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def worker_sends(run: PlatformRun) -> Counter:
    """How many times the workers sent each message id (from their own logs: survives a worker kill)."""
    sends: Counter = Counter()
    for process in run.workers.values():
        try:
            lines = process.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == "simulator.message_sent" and record.get("message_id"):
                sends[record["message_id"]] += 1
    return sends


def webhook_events(sink: WebhookSink) -> dict[tuple[str, str], set[str]]:
    """(event type, message id or inbound text) -> the distinct webhook-ids delivered for it. A receiver
    drops a repeated webhook-id (Standard Webhooks); two different ids for one fact are a duplicate."""
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for received in sink.received:
        payload = received.payload
        headers = {k.lower(): v for k, v in received.headers.items()}
        data = payload.get("data", {})
        subject = data.get("text") if payload["type"] == "message.received" else data.get("message_id")
        seen[(payload["type"], subject)].add(headers["webhook-id"])
    return seen


async def audit(run: PlatformRun, api: GatewayClient, token: str, traffic: Traffic, sink: WebhookSink,
                timeout: float = 120.0) -> dict:
    """Waits until every accepted message is sent and every event delivered (or the timeout), then checks
    that nothing was lost and nothing duplicated. Returns the figures; raises AssertionError on a fault."""
    # 1. Idempotency: a key retried after a lost answer got the same message id.
    doubled = {k: ids for k, ids in traffic.replies.items() if len(ids) > 1}
    assert not doubled, f"one Idempotency-Key, several messages: {doubled}"
    wanted = set(traffic.accepted.values())
    sessions = set(traffic.keys)

    state: dict = {}

    async def settled():
        histories = {}
        for session_id in sessions:
            found = await _history(api, token, session_id, traffic.started_at)
            if found is None:
                return False
            histories[session_id] = found
        outbound = {m["message_id"]: m for h in histories.values() for m in h
                    if m["direction"] == "outbound" and traffic.tag in (m.get("text") or "")}
        inbound_texts = Counter(m["text"] for h in histories.values() for m in h if m["direction"] == "inbound")
        events = webhook_events(sink)
        state.update(outbound=outbound, inbound=inbound_texts, events=events)
        return (all(outbound.get(mid, {}).get("status") in DONE for mid in wanted)
                and all(inbound_texts[t] for t in traffic.inbound)
                and all(events.get(("message.sent", mid)) for mid in wanted)
                and all(events.get(("message.received", t)) for t in traffic.inbound))

    try:
        await wait_until(settled, timeout=timeout, interval=1)
    except TimeoutError:
        pass
    outbound, inbound, events = state.get("outbound", {}), state.get("inbound", Counter()), state.get("events", {})
    sends = worker_sends(run)
    report = {
        **traffic.summary(),
        "not_sent_in_history": sorted(mid for mid in wanted if outbound.get(mid, {}).get("status") not in DONE),
        "sent_twice_in_timeline": sorted(mid for mid in wanted
                                         if [s["status"] for s in outbound.get(mid, {}).get("timeline",
                                                                                            [])].count("sent") > 1),
        "failed": sorted(mid for mid in wanted if "failed" in [s["status"] for s in outbound.get(mid,
                                                                                                 {}).get("timeline",
                                                                                                         [])]),
        "unknown_outbound": sorted(set(outbound) - wanted),
        "worker_never_sent": sorted(mid for mid in wanted if sends[mid] == 0),
        "worker_sent_twice": sorted(mid for mid in wanted if sends[mid] > 1),
        "inbound_lost": sorted(t for t in traffic.inbound if inbound[t] == 0),
        "inbound_stored_twice": sorted(t for t in traffic.inbound if inbound[t] > 1),
        "webhook_sent_missing": sorted(mid for mid in wanted if not events.get(("message.sent", mid))),
        "webhook_sent_twice": sorted(mid for mid in wanted if len(events.get(("message.sent", mid), ())) > 1),
        "webhook_received_missing": sorted(t for t in traffic.inbound if not events.get(("message.received", t))),
        "webhook_received_twice": sorted(t for t in traffic.inbound if len(events.get(("message.received", t),
                                                                                      ())) > 1),
    }
    faults = {k: v for k, v in report.items() if isinstance(v, list) and v}
    # An outbound message nobody was told about can only come from a send whose every answer was lost.
    if len(report["unknown_outbound"]) <= traffic.given_up:
        faults.pop("unknown_outbound", None)
    print(f"\naudit: {json.dumps({k: (len(v) if isinstance(v, list) else v) for k, v in report.items()})}")
    assert not faults, f"audit found lost or duplicated messages: {json.dumps(faults)[:4000]}"
    assert traffic.accepted, "nothing was accepted: the scenario tested nothing"
    return report


def dead_letters(rabbit) -> dict[str, int]:
    """Messages sitting in a dead-letter queue of the private broker (each one a message the platform gave up on)."""
    return {q["name"]: q.get("messages", 0) for q in rabbit.queues()
            if q["name"].endswith(".dead-letter") and q.get("messages", 0)}
