"""A poll's votes name the options they chose by hashes only (whatsmeow's `HashPollOptions`: the SHA-256
of each option's text); the options are recorded when the poll is sent or received (`devices`)."""

from __future__ import annotations

import hashlib


def option_hash(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def chosen_options(hashes: list[bytes], options: list[str]) -> list[str]:
    """The options named by `hashes`, in the vote's order (a hash of none of them is dropped)."""
    names = {option_hash(name): name for name in options}
    return [names[hashed] for hashed in hashes if hashed in names]
