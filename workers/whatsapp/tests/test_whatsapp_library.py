"""The real library loads from the pinned wheel with no network access, and anything else is refused
with a message that says what to fix (neonize's own loader would download a build instead)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wagw_worker_whatsapp.library import NEONIZE_VERSION, LibraryUnavailable, bundled_library_name, check_bundled_build

pytestmark = pytest.mark.unit

# Every way Python code reaches the network raises: what the import does with a socket shows at once.
NO_NETWORK = """
import sys
def refuse(event, args):
    if event.startswith(("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
                         "urllib.Request", "http.client.connect")):
        raise PermissionError(f"network access during load: {event} {args!r}")
sys.addaudithook(refuse)
"""


def run_without_network(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_NETWORK + code], capture_output=True, text=True, timeout=120)


def neonize_dir() -> Path:
    return Path(list(importlib.util.find_spec("neonize").submodule_search_locations)[0])


def test_the_real_library_loads_and_answers_with_no_network_access():
    done = run_without_network(
        "from wagw_worker_whatsapp import neonize_client\n"
        "print(neonize_client.aio.NewAClient.__name__, neonize_client.mapping.ev.JID(User='1').User)\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["NewAClient", "1"]


def unshare_works() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-rn", "true"]).returncode == 0


@pytest.mark.skipif(not unshare_works(), reason="needs unshare -rn (a user and network namespace)")
def test_the_real_library_loads_in_a_network_namespace_with_no_network_at_all():
    """The Go library's own start-up included: in a namespace without interfaces nothing can be fetched."""
    done = subprocess.run(["unshare", "-rn", sys.executable, "-c",
                           "from wagw_worker_whatsapp import neonize_client; print('loaded')"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "loaded", done.stderr[-2000:]


def test_the_hook_does_catch_a_download_attempt():
    """The guard of the test above is real: neonize's own download function is stopped by it."""
    done = run_without_network("import requests\nrequests.get('https://github.com/krypton-byte/neonize', timeout=5)\n")
    assert done.returncode != 0 and "network access during load" in done.stderr


def test_the_installed_wheel_is_the_pinned_version_with_its_bundled_library():
    assert check_bundled_build(neonize_dir(), NEONIZE_VERSION).name == bundled_library_name()


def test_another_installed_version_is_refused_before_neonize_is_imported():
    with pytest.raises(LibraryUnavailable, match=f"neonize=={NEONIZE_VERSION} exactly"):
        check_bundled_build(neonize_dir(), "0.5.3")


def test_a_missing_bundled_library_is_refused_rather_than_downloaded(tmp_path):
    with pytest.raises(LibraryUnavailable, match="never allows"):
        check_bundled_build(tmp_path, NEONIZE_VERSION)


def test_a_bundled_library_of_another_version_is_refused(tmp_path):
    with pytest.raises(LibraryUnavailable, match=f"reports version {NEONIZE_VERSION}, not 9.9.9"):
        check_bundled_build(neonize_dir(), "9.9.9", expected="9.9.9")


def test_the_file_name_matches_neonizes_own_naming():
    assert bundled_library_name("Linux", "x86_64") == "neonize-linux-amd64.so"
    assert bundled_library_name("Linux", "aarch64") == "neonize-linux-arm64.so"


def test_the_worker_stops_with_a_clear_message_rather_than_load_another_build(tmp_path):
    """As if the installed neonize were not the pinned one: the process exits, saying what to fix,
    and never reaches for the network (neonize's loader would have downloaded a build)."""
    done = run_without_network(
        "import os\n"
        "os.environ.update(WHATSAPP_CLIENT='neonize', LOG_FORMAT='json')\n"
        "import wagw_worker_whatsapp.library as library\n"
        "library.NEONIZE_VERSION = '9.9.9'\n"
        "from wagw_worker_whatsapp.__main__ import main\n"
        "main()\n")
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert last.startswith("wagw_worker_whatsapp: neonize ") and "neonize==9.9.9 exactly" in last, last


def test_the_images_pins_are_the_packages_pins():
    """workers/whatsapp/Dockerfile installs requirements/whatsapp.txt with --no-index: same versions."""
    import tomllib

    repo = Path(__file__).resolve().parents[3]
    pins = {line.strip() for line in (repo / "requirements/whatsapp.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    declared = tomllib.loads((repo / "workers/whatsapp/pyproject.toml").read_text())["project"]["dependencies"]
    assert {d for d in declared if "==" in d} == pins
    assert f"neonize=={NEONIZE_VERSION}" in pins
