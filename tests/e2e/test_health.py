import aiohttp
import pytest

pytestmark = pytest.mark.e2e


async def test_every_service_answers_health_readiness_and_metrics(platform):
    async with aiohttp.ClientSession() as http:
        for name, service in platform.services.items():
            async with http.get(service.url + "/healthz") as r:
                assert r.status == 200, name
            async with http.get(service.url + "/readyz") as r:
                body = await r.json()
                assert r.status == 200 and body["ready"], (name, body)
                assert body["checks"]["broker"] and body["checks"]["redis"]
            async with http.get(service.url + "/metrics") as r:
                text = await r.text()
                assert r.status == 200 and "wagw_dependency_up" in text, name
