"""The baseline of accepted sends: a bare aiohttp handler that does only a confirmed persistent publish.

POST /send reads the JSON body, wraps it like a command (same size as the gateway's), publishes it
persistently on a publisher-confirms channel to a quorum queue, and answers 202 once the broker
confirmed it: no authentication, validation, idempotency, rate limit or logging.
Run as its own process (like the gateway): AMQP_URL, HTTP_PORT."""

from __future__ import annotations

import json
import os
import secrets

import aio_pika
from aiohttp import web

QUEUE = "bench.bare-sends"
KEY = web.AppKey("exchange", aio_pika.abc.AbstractExchange)


async def broker(app: web.Application):
    connection = await aio_pika.connect_robust(os.environ["AMQP_URL"])
    channel = await connection.channel(publisher_confirms=True)
    await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    app[KEY] = channel.default_exchange
    yield
    await connection.close()


async def send(request: web.Request) -> web.Response:
    body = await request.json()
    message_id = "m_" + secrets.token_hex(8)
    command = {"specversion": "1.0", "type": "message.send", "source": "bench", "id": secrets.token_hex(16),
               "data": {**body, "message_id": message_id}}
    await request.app[KEY].publish(
        aio_pika.Message(json.dumps(command).encode(), content_type="application/json", message_id=message_id,
                         delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=QUEUE, mandatory=True, timeout=10)
    return web.json_response({"message_id": message_id, "status": "queued"}, status=202)


async def ready(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(broker)
    app.router.add_post("/send", send)
    app.router.add_get("/readyz", ready)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=int(os.environ["HTTP_PORT"]), print=None, access_log=None)
