"""Prometheus's own checker over the repository's monitoring files: the alert rules load, their unit
tests (deploy/monitoring/alerts.test.yml) pass, and the compose Prometheus configuration is valid,
pointed at the repository's alerts.yml instead of its path inside the container."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"


def promtool(*args: str) -> str:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: scripts/bootstrap.sh installs it (Debian package prometheus)"
    checked = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return checked.stdout


def test_the_alert_rules_load_and_pass_their_unit_tests():
    promtool("check", "rules", str(MONITORING / "alerts.yml"))
    promtool("test", "rules", str(MONITORING / "alerts.test.yml"))


def test_the_compose_prometheus_config_is_valid_with_the_repositorys_rules(tmp_path):
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert [Path(f).name for f in config["rule_files"]] == ["alerts.yml"]
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    assert f"SUCCESS: {sum(len(g['rules']) for g in rules)} rules found" in promtool("check", "config", str(checked))
# prometheus-kubernetes.yml is not checked here: Debian's promtool is built without the Kubernetes
# service discovery, so it refuses `kubernetes_sd_configs` whatever their content.
