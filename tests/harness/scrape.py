"""Reading a service's /metrics, and the metric list of docs/metrics.md."""

from __future__ import annotations

import re
from collections import defaultdict

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from .infra import REPO

Samples = dict[str, dict[tuple, float]]  # sample name -> {sorted label pairs: value}


async def scrape(http: aiohttp.ClientSession, url: str) -> tuple[set[str], Samples]:
    """The families a /metrics page declares (exposed names: counters with `_total`) and its samples."""
    async with http.get(url + "/metrics") as response:
        assert response.status == 200, response.status
        return parse(await response.text())


def parse(text: str) -> tuple[set[str], Samples]:
    """The families and samples of a Prometheus exposition (see `scrape`)."""
    families: set[str] = set()
    samples: Samples = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        families.add(family.name + ("_total" if family.type == "counter" else ""))
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return families, samples


def total(samples: Samples, name: str, **labels: str | tuple[str, ...]) -> float:
    """The sum of a sample's values over every label set that has `labels` (a tuple: any of its values)."""
    def matches(key: tuple) -> bool:
        have = dict(key)
        return all(have.get(k) in (v if isinstance(v, tuple) else (v,)) for k, v in labels.items())

    return sum(value for key, value in samples.get(name, {}).items() if matches(key))


def documented_metrics() -> dict[str, set[str]]:
    """docs/metrics.md's reference: {section ("Every service" or a service name): metric names}."""
    text = (REPO / "docs" / "metrics.md").read_text()
    generated = text.split("<!-- BEGIN GENERATED metrics -->", 1)[1]
    found: dict[str, set[str]] = {}
    section = None
    for line in generated.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
            found[section] = set()
        elif section and (m := re.match(r"\| `(wagw_[a-z0-9_]+)` \|", line)):
            found[section].add(m[1])
    return found
