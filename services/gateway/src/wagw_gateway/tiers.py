"""Tiers and roles: what an account may hold and how fast it may send.

The session limits come from the product (the seed's BASIC 1, PRO 5, MAX 20); the send rates are
settings (`TIER_SEND_RATES_PER_MINUTE`), because operators tune them."""

from __future__ import annotations

ROLES = ("user", "admin")
TIERS = ("BASIC", "PRO", "MAX")
DEFAULT_TIER = "BASIC"
# How many sessions a tenant may hold, by tier; the orchestrator enforces it at creation.
SESSION_LIMITS = {"BASIC": 1, "PRO": 5, "MAX": 20}


def parse_tier_rates(raw: str) -> dict[str, int]:
    """`BASIC=60,PRO=600,MAX=3000` -> {"BASIC": 60, ...}; every tier must be given, each rate positive."""
    rates: dict[str, int] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        tier, sep, value = part.partition("=")
        tier = tier.strip().upper()
        if not sep or tier not in TIERS:
            raise ValueError(f"expected TIER=N with TIER one of {', '.join(TIERS)}, got {part.strip()!r}")
        rates[tier] = int(value)
        if rates[tier] <= 0:
            raise ValueError(f"the rate of {tier} must be positive")
    missing = [t for t in TIERS if t not in rates]
    if missing:
        raise ValueError(f"no rate for {', '.join(missing)}")
    return rates
