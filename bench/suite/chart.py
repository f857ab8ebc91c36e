"""The run's chart: one panel per headline figure, the platform beside its baseline (PNG)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402


def draw(report: dict, path: Path) -> None:
    rows = [r for r in report["headlines"] if r["measured"] is not None and r["unit"] != "msgs"]  # counts: in the table
    if not rows:
        return
    columns = 4
    lines = -(-len(rows) // columns)
    figure, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.6 * lines), squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        values = [row["measured"], row["baseline"] if row["baseline"] is not None else 0]
        bars = ax.bar(row.get("labels", ["platform", "baseline"]), values, color=["#3a6ea5", "#9aa5b1"])
        ax.bar_label(bars, labels=[f"{v:,.1f}" for v in values], fontsize=8)
        verdict = {True: " (goal met)", False: " (goal missed)", None: ""}[row["met"]]
        title = textwrap.fill(f"{row['part']}: {row['figure']}", 44)  # long names stay within their panel
        ax.set_title(f"{title}\n{row['unit']}{verdict}", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.margins(y=0.2)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    c = report["conditions"]
    figure.suptitle(f"{report['command']}  ·  {c['started_at']}  ·  {c['cpus']} cores, load average "
                    f"{c['load_average_at_start']['1m']} -> {c.get('load_average_at_end', {}).get('1m')}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
