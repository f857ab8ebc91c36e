"""The one rule for an access token against its account now (the gateway's and realtime's)."""

import pytest

from wagw_common.token_standing import AccountStanding, token_refusal
from wagw_common.tokens import Principal

pytestmark = pytest.mark.unit

TOKEN = Principal("u_1", "user", "BASIC", generation=2)


def test_a_token_of_an_active_account_and_its_current_generation_stands():
    assert token_refusal(TOKEN, AccountStanding("u_1", active=True, token_generation=2)) is None


@pytest.mark.parametrize("account, reason", [
    (None, "no longer exists"),
    (AccountStanding("u_1", active=False, token_generation=2), "deactivated"),
    (AccountStanding("u_1", active=True, token_generation=3), "password changed"),  # issued before the change
])
def test_anything_else_is_refused_with_the_reason(account, reason):
    assert reason in token_refusal(TOKEN, account)
