"""The registry's settings: what it refuses to start with."""

import pytest
from wagw_common.settings import SettingsError, load

from wagw_worker_registry.settings import Settings

pytestmark = pytest.mark.unit


def test_an_offline_window_shorter_than_two_heartbeats_is_refused():
    # A worker notices a stall of more than one interval; a window of one could close before it does.
    with pytest.raises(SettingsError, match="WORKER_MISSED_HEARTBEATS"):
        load(Settings, {"WORKER_MISSED_HEARTBEATS": "1"})
    assert load(Settings, {"WORKER_MISSED_HEARTBEATS": "2"}).missed_heartbeats == 2
