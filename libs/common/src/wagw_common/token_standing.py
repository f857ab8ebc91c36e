"""Whether an access token still stands for its account, declared once: the gateway applies it to
every request, realtime at each connect and `reauth`. A signature and an expiry are not enough: a
token is refused once its account is gone or deactivated, or once its generation is not the
account's any more (the password changed, or every login was ended)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .tokens import Principal


class Standing(Protocol):
    # Read-only, so frozen records (AccountStanding, the gateway's AccountState) satisfy it.
    @property
    def active(self) -> bool: ...

    @property
    def token_generation(self) -> int: ...


@dataclass(frozen=True)
class AccountStanding:
    """What the rule needs of an account, as the gateway answers `account.standing`."""

    user_id: str
    active: bool
    token_generation: int


def token_refusal(principal: Principal, account: Standing | None) -> str | None:
    """Why the token no longer stands (told to the caller), or None when it does. `account`: the
    account's state now, None if it no longer exists."""
    if account is None:
        return "the account no longer exists"
    if not account.active:
        return "the account is deactivated"
    if account.token_generation != principal.generation:
        return "the token was revoked (the password changed); log in again"
    return None
