"""The retry policy, Retry-After, durations and the delay queues they need: pure functions."""

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from wagw_common.settings import SettingsError, load
from wagw_common.topology import WEBHOOK_DELIVERIES, webhook_wait_queue
from wagw_webhook_dispatcher.durations import parse_duration, parse_schedule
from wagw_webhook_dispatcher.retries import EXHAUSTED, GONE, RETRY, SUCCESS, RetryPolicy, parse_retry_after
from wagw_webhook_dispatcher.settings import Settings

pytestmark = pytest.mark.unit
STANDARD = load(Settings, {}).retry_schedule


def test_the_default_schedule_is_the_standard_webhooks_one():
    assert STANDARD == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert RetryPolicy(STANDARD).max_attempts == 10  # immediately, then nine retries


def test_each_failure_waits_the_next_pause_less_some_jitter_then_gives_up():
    policy = RetryPolicy(STANDARD, jitter=0.1)
    for attempt, pause in enumerate(STANDARD, start=1):
        decision = policy.decide(attempt, 500, rand=lambda: 1.0)
        assert decision.outcome == RETRY and decision.delay == pause and decision.wait == pytest.approx(pause * 0.9)
        assert policy.decide(attempt, None, rand=lambda: 0.0).wait == pause  # no answer at all: the same
    assert policy.decide(10, 500).outcome == EXHAUSTED


@pytest.mark.parametrize("status, outcome", [(200, SUCCESS), (204, SUCCESS), (299, SUCCESS), (301, RETRY),
                                             (400, RETRY), (404, RETRY), (410, GONE), (429, RETRY), (503, RETRY)])
def test_only_2xx_succeeds_and_410_means_gone(status, outcome):
    assert RetryPolicy((1.0,)).decide(1, status).outcome == outcome


def test_retry_after_picks_the_first_delay_queue_long_enough_without_jitter():
    policy = RetryPolicy(STANDARD, jitter=0.1, busy_schedule=(1, 5, 30))
    assert policy.decide(1, 429, retry_after=60) == policy.decide(1, 429, retry_after=300)
    decision = policy.decide(1, 503, retry_after=60)
    assert decision.delay == 300 and decision.wait == 300
    assert policy.decide(1, 503, retry_after=20).delay == 30  # a busy queue is long enough
    assert policy.decide(1, 503, retry_after=2).delay == 5  # shorter than the planned pause: the pause
    assert policy.decide(2, 503, retry_after=10 ** 7).delay == 86400  # beyond the longest queue: the longest


def test_a_busy_endpoint_pauses_grow_then_repeat():
    policy = RetryPolicy((5.0,), busy_schedule=(1.0, 5.0, 30.0))
    assert [policy.busy_pause(n, rand=lambda: 0.0)[0] for n in range(5)] == [1.0, 5.0, 30.0, 30.0, 30.0]
    assert policy.delays == (1.0, 5.0, 30.0)


def test_a_job_put_off_with_its_turn_known_comes_back_for_it_in_the_queue_that_holds_it():
    policy = RetryPolicy((5.0,), jitter=0.1, busy_schedule=(1.0, 5.0, 30.0))
    assert policy.busy_pause(0, turn=3.0) == (5.0, 3.0)
    assert policy.busy_pause(0, turn=12.0) == (30.0, 12.0)
    assert policy.busy_pause(0, turn=600.0) == (30.0, 30.0)  # never beyond the longest busy pause
    # A turn sooner than the step: the step (a dead endpoint's jobs come back ever more rarely).
    assert policy.busy_pause(0, turn=0.5, rand=lambda: 0.0) == (1.0, 1.0)
    assert policy.busy_pause(2, turn=3.0, rand=lambda: 0.0) == (30.0, 30.0)


def test_retry_after_is_seconds_or_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now) == 120
    assert parse_retry_after(format_datetime(now - timedelta(minutes=2), usegmt=True), now) == 0
    for junk in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(junk, now) is None


def test_durations_and_schedules():
    assert [parse_duration(d) for d in ("500ms", "5s", "5", "5m", "2h", "1d", "1.5s")] == [
        0.5, 5, 5, 300, 7200, 86400, 1.5]
    assert parse_schedule("5s, 5m ,2h") == (5, 300, 7200) and parse_schedule("") == ()
    for bad in ("5 minutes", "-1s", "0s,5s"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
    with pytest.raises(SettingsError):
        load(Settings, {"WEBHOOK_BUSY_RETRY_SCHEDULE": ""})
    with pytest.raises(SettingsError):
        load(Settings, {"WEBHOOK_RETRY_JITTER": "1.5"})


def test_each_pause_has_a_wait_queue_of_its_own_that_expires_into_the_deliveries_queue():
    names = [webhook_wait_queue(d).name for d in (0.2, 5, 300, 1800, 7200, 86400, 1.5)]
    assert names == ["webhook-dispatcher.wait.200ms", "webhook-dispatcher.wait.5s", "webhook-dispatcher.wait.5m",
                     "webhook-dispatcher.wait.30m", "webhook-dispatcher.wait.2h", "webhook-dispatcher.wait.24h",
                     "webhook-dispatcher.wait.1500ms"]
    arguments = webhook_wait_queue(300).arguments()
    assert arguments["x-message-ttl"] == 300_000 and arguments["x-dead-letter-exchange"] == ""
    assert arguments["x-dead-letter-routing-key"] == WEBHOOK_DELIVERIES.name
    assert arguments["x-queue-type"] == "quorum" and arguments["x-dead-letter-strategy"] == "at-least-once"
