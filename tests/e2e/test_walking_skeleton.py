import pytest

from harness.flows import walking_skeleton

pytestmark = pytest.mark.e2e


async def test_the_whole_platform_serves_the_critical_flow(platform):
    result = await walking_skeleton(platform)
    statuses = [step["status"] for step in result["message"]["timeline"]]
    assert statuses[:2] == ["queued", "sent"]
