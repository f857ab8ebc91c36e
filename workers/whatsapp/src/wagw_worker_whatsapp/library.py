"""Loading neonize without ever letting it reach the internet.

neonize's loader (`neonize._binder`) downloads a build of its Go library from GitHub when the bundled
one is missing or reports another version. A worker in a locked-down network must never do that, and
a build nobody pinned must never run. So before importing neonize this module checks, without
importing it, that the installed distribution is the pinned version and that its bundled library is
there and reports that same version; otherwise it refuses with a message that says what to fix."""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import platform
from pathlib import Path

NEONIZE_VERSION = "0.5.2"  # the pin of pyproject.toml; the bundled Go library carries the same number

_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_EXTENSION = {"linux": "so", "darwin": "dylib", "windows": "dll"}


class LibraryUnavailable(RuntimeError):
    """neonize cannot be loaded without a download; the worker stops rather than fetch code."""


def bundled_library_name(system: str | None = None, machine: str | None = None) -> str:
    """The file name neonize's loader looks for (`neonize.utils.platform.generated_name`)."""
    system = (system or platform.system()).lower()
    machine = (machine or platform.machine()).lower()
    return f"neonize-{system}-{_ARCH.get(machine, machine)}.{_EXTENSION.get(system, 'so')}"


def check_bundled_build(package_dir: Path, installed: str, expected: str | None = None) -> Path:
    expected = expected or NEONIZE_VERSION
    if installed != expected:
        raise LibraryUnavailable(
            f"neonize {installed} is installed, but this worker is built and tested with neonize=={expected} "
            "exactly (another version would download a matching Go library at start-up): "
            f"pip install neonize=={expected}")
    library = package_dir / bundled_library_name()
    if not library.is_file():
        raise LibraryUnavailable(
            f"neonize {installed} has no bundled library {library.name} for this platform; neonize would "
            "download one from GitHub, which this worker never allows. Use a platform its wheel ships "
            "(linux amd64) or build the worker's image from the Dockerfile")
    reported = ctypes.CDLL(str(library)).GetVersion
    reported.restype = ctypes.c_char_p
    version = reported().decode()
    if version != expected:
        raise LibraryUnavailable(
            f"{library} reports version {version}, not {expected}; neonize would replace it with a download. "
            f"Reinstall neonize=={expected} (pip install --force-reinstall --no-deps neonize=={expected})")
    return library


def load_neonize():
    """Import neonize's asyncio client after the checks above; returns the `neonize.aioze.client` module."""
    spec = importlib.util.find_spec("neonize")
    if spec is None or not spec.submodule_search_locations:
        raise LibraryUnavailable(f"neonize is not installed: pip install neonize=={NEONIZE_VERSION}")
    check_bundled_build(Path(list(spec.submodule_search_locations)[0]), importlib.metadata.version("neonize"))
    import neonize.aioze.client as aio_client  # noqa: PLC0415 (only once the checks passed)

    return aio_client
