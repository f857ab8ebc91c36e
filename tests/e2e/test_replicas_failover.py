"""The failover test (test_session_failover.py, reused, not copied) with two replicas of every service:
sessions move off a killed worker, and no accepted message is lost or sent twice although every
consumer and every singleton loop (offline monitor, outbox relays, retention, behind their Redis
leases) runs in two processes at once."""

from __future__ import annotations

import pytest

from e2e.test_session_failover import fleet  # noqa: F401  (the fixture; it reads REPLICAS from this module)
from e2e.test_session_failover import (  # noqa: F401
    test_sessions_move_off_a_killed_worker_and_no_message_is_lost_or_sent_twice as test_failover_with_two_replicas_of_every_service,  # noqa: E501
)

pytestmark = pytest.mark.e2e
REPLICAS = 2
# Twice the processes on the same cores: a heartbeat may be late under that load, and a worker declared
# offline only because its machine is busy is not the failover under test. 5 missed beats (10 s).
MISSED = 5
