"""Signing secrets in the Standard Webhooks format: `whsec_` + base64 of random bytes."""

from __future__ import annotations

import base64
import secrets as _random

SECRET_PREFIX = "whsec_"
# The spec asks for 24 to 64 bytes; 24 bytes encode to 32 base64 characters without padding.
SECRET_BYTES = 24


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode()
