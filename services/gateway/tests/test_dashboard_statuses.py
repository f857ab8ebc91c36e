"""The dashboard's copy of the session statuses is the platform's declaration, name for name and in
order: the browser cannot import the Python enum, so this test is what keeps the two from drifting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wagw_common.contracts.session_statuses import SessionStatus

import wagw_gateway

pytestmark = pytest.mark.unit

STATUSES_JS = Path(wagw_gateway.__file__).parent / "dashboard" / "js" / "statuses.js"
_ENTRY = re.compile(r'^\s*([A-Z_]+): "([A-Z_]+)",$', re.MULTILINE)


def test_the_dashboard_lists_every_session_status_as_the_enum_does():
    declared = STATUSES_JS.read_text()
    body = declared[declared.index("Object.freeze({"):declared.index("});")]
    assert _ENTRY.findall(body) == [(status.name, status.value) for status in SessionStatus]


def test_the_dashboard_names_statuses_only_through_that_module():
    quoted = re.compile("|".join(f'"{status.value}"' for status in SessionStatus))
    spelled = {path.name: quoted.findall(path.read_text())
               for path in STATUSES_JS.parent.rglob("*.js") if path != STATUSES_JS}
    assert {name: found for name, found in spelled.items() if found} == {}
