"""docs/operations.md and the Grafana dashboard name exactly the metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from allotment.metrics.instruments import instruments

DOCS = Path(__file__).resolve().parents[3] / "docs"
SUFFIXES = re.compile(r"_(bucket|sum|count|total)$")


def _names() -> set[str]:
    found = instruments()
    return {getattr(found, field)._name for field in found.__dataclass_fields__}


def test_every_metric_is_explained_in_operations_md() -> None:
    text = (DOCS / "operations.md").read_text()
    for name in _names():
        assert f"`{name}" in text, name


def test_dashboard_plots_only_metrics_that_exist() -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    used = {
        SUFFIXES.sub("", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"allotment_\w+", target["expr"])
    }
    assert used <= _names(), used - _names()
    assert len(used) >= 12  # requests, candidates, writes and database are all plotted
