"""A thin client of the gateway's public HTTP API, as a customer would use it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import aiohttp


@dataclass
class Customer:
    email: str
    password: str
    token: str = ""  # set by logging in


class GatewayClient:
    def __init__(self, base_url: str, http: aiohttp.ClientSession):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = http

    async def request(self, method: str, path: str, *, token: str | None = None, api_key: str | None = None,
                      expect: int | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        async with self.http.request(method, self.base + path, headers=headers, **kwargs) as response:
            body = await response.json(content_type=None)
            if expect is not None:
                assert response.status == expect, f"{method} {path}: {response.status} {body}"
            return response.status, body, response.headers

    async def sign_up(self) -> Customer:
        customer = Customer(email=f"user-{uuid.uuid4().hex[:10]}@example.com", password="correct horse battery")
        await self.request("POST", "/auth/register", json={"email": customer.email, "password": customer.password},
                           expect=201)
        _, body, _ = await self.request("POST", "/auth/login", json={"email": customer.email,
                                                                     "password": customer.password},
                                        expect=200)
        customer.token = body["access_token"]
        return customer
