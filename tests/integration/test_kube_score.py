"""kube-score over the Kubernetes manifests: every critical finding is either fixed or justified in
deploy/k8s/README.md (its "kube-score" table), and no justification outlives its finding."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
VERSION = "v1.20.0"
MODULE = "github.com/zegl/kube-score/cmd/kube-score"
BINARY = REPO / ".local" / "bin" / f"kube-score-{VERSION}"
CRITICAL = 1


def go_command() -> str | None:
    local = REPO / ".local" / "go" / "bin" / "go"
    return shutil.which("go") or (str(local) if local.exists() else None)


@cache
def kube_score() -> Path:
    """The pinned kube-score, built from the Go module proxy once and kept (git-ignored)."""
    if BINARY.exists():
        return BINARY
    go = go_command()
    if go is None:
        pytest.skip("no Go toolchain to build kube-score with (scripts/infra.sh installs one)")
    out = BINARY.parent / f".kube-score-build-{os.getpid()}"
    built = subprocess.run([go, "install", f"{MODULE}@{VERSION}"], env={**os.environ, "GOBIN": str(out)},
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr
    (out / "kube-score").replace(BINARY)
    out.rmdir()
    return BINARY


def manifests() -> list[Path]:
    return sorted(p for folder in ("base", "infra", "overlays") for p in (K8S / folder).rglob("*.yaml")
                  if p.name != "kustomization.yaml")


@cache
def critical_findings() -> frozenset[tuple[str, str]]:
    """(check id, object name) of every critical finding."""
    result = subprocess.run([str(kube_score()), "score", "--output-format", "json", *map(str, manifests())],
                            capture_output=True, text=True, timeout=120)
    assert result.stdout, result.stderr
    return frozenset((check["check"]["id"], obj["object_meta"]["name"]) for obj in json.loads(result.stdout)
                     for check in obj["checks"] if check["grade"] == CRITICAL and not check["skipped"])


def justified() -> dict[str, set[str]]:
    """README rows `| \\`check-id\\` | \\`object\\`, \\`object\\` | why |` under its kube-score heading."""
    readme = (K8S / "README.md").read_text()
    section = readme.split("## kube-score", 1)[1].split("\n## ", 1)[0]
    table = {}
    for row in re.findall(r"^\| `([a-z-]+)` \|([^|]+)\|", section, re.M):
        table[row[0]] = set(re.findall(r"`([a-z0-9-]+)`", row[1]))
    assert table, "deploy/k8s/README.md has a kube-score table"
    return table


def test_every_critical_finding_is_justified_in_the_readme():
    table = justified()
    unexplained = sorted((check, name) for check, name in critical_findings() if name not in table.get(check, ()))
    assert not unexplained, f"fix these or justify them in deploy/k8s/README.md: {unexplained}"


def test_every_justification_still_has_its_finding():
    stale = sorted((check, name) for check, names in justified().items() for name in names
                   if (check, name) not in critical_findings())
    assert not stale, f"fixed since: remove from deploy/k8s/README.md's kube-score table: {stale}"
