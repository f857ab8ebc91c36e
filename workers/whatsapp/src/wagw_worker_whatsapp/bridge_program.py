"""Finding the whatsmeow bridge program and checking it is the build this worker speaks with: a missing
program or one of another version stops the worker at start with what to do, never a session later."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .library import LibraryUnavailable

# The program's `--version`: workers/whatsapp/bridge/version.go says the same (a test holds them together).
BRIDGE_VERSION = "wagw-whatsmeow 1.1.0 (whatsmeow v0.0.0-20260921121126-35ae40906e74)"
BUILD_HINT = "build it with tools/whatsmeow-bridge/build.sh (scripts/bootstrap.sh does), or use the worker's image"


def checked_program(program: Path, expected: str = BRIDGE_VERSION) -> Path:
    if not program.is_file():
        raise LibraryUnavailable(f"the whatsmeow bridge {program} is missing: {BUILD_HINT}")
    try:
        said = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LibraryUnavailable(f"the whatsmeow bridge {program} does not run ({exc}): {BUILD_HINT}") from None
    version = said.stdout.strip()
    if version != expected:
        raise LibraryUnavailable(
            f"the whatsmeow bridge {program} is {version or 'of no version'!r}, this worker needs {expected!r}: "
            f"{BUILD_HINT}")
    return program
