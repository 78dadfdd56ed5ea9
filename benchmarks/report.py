"""Tables (plain text and Markdown), the candidate-count cross-check, JSON and the chart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SYSTEM_LABELS = {"allotment": "allotment", "peer": "placement 16.0.0"}
HIGHER, LOWER, INFO = "higher", "lower", "info"
Row = tuple[str, dict[str, float | None], str]


def _get(record: dict[str, Any], *keys: Any) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, dict | list):
            return None
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _claim_run(record: dict[str, Any], clients: int) -> dict[str, Any] | None:
    for run in _get(record, "claims", "runs") or []:
        if run["clients"] == clients:
            return run
    return None


def _metric_rows(records: dict[str, dict[str, Any]]) -> Iterator[Row]:
    """(label, value per system, which direction is better) for one backend and size."""

    def row(label: str, better: str, getter: Any) -> Row:
        return label, {system: getter(rec) for system, rec in records.items()}, better

    yield row("load: client sessions", INFO, lambda r: r.get("load_sessions"))
    yield row("load: providers/s", HIGHER, lambda r: _get(r, "load", "providers_per_s"))
    yield row("load: allocations/s", HIGHER, lambda r: _get(r, "load", "allocations_per_s"))
    yield row("load: 409s retried", INFO, lambda r: _get(r, "load", "allocation_conflicts_retried"))
    yield row("load: 5xx retried", INFO, lambda r: _get(r, "load", "server_errors_retried"))
    shapes: list[str] = []
    for rec in records.values():
        shapes += [s for s in (rec.get("candidates") or {}) if s not in shapes]
    for shape in shapes:
        yield row(
            f"candidates {shape}: p50 ms",
            LOWER,
            lambda r, s=shape: _get(r, "candidates", s, "p50_ms"),
        )
        yield row(
            f"candidates {shape}: p95 ms",
            LOWER,
            lambda r, s=shape: _get(r, "candidates", s, "p95_ms"),
        )
        yield row(
            f"candidates {shape}: explain p50 ms",
            INFO,
            lambda r, s=shape: _get(r, "candidates", s, "explain_p50_ms"),
        )
        yield row(
            f"candidates {shape}: KiB",
            INFO,
            lambda r, s=shape: _kib(_get(r, "candidates", s, "bytes")),
        )
        yield row(
            f"candidates {shape}: count",
            INFO,
            lambda r, s=shape: _get(r, "candidates", s, "candidates"),
        )
    clients = sorted(
        {run["clients"] for rec in records.values() for run in _get(rec, "claims", "runs") or []}
    )
    for count in clients:
        yield row(
            f"claims x{count}: claims/s",
            HIGHER,
            lambda r, c=count: _get(_claim_run(r, c), "claims_per_s"),
        )
        yield row(
            f"claims x{count}: conflict rate",
            INFO,
            lambda r, c=count: _get(_claim_run(r, c), "conflict_rate"),
        )
        yield row(
            f"claims x{count}: failed requests (not 409)",
            INFO,
            lambda r, c=count: _get(_claim_run(r, c), "errors"),
        )
    yield row(
        "claims: providers over capacity",
        LOWER,
        lambda r: _len_or_none(_get(r, "claims", "over_capacity")),
    )
    kinds: list[str] = []
    for rec in records.values():
        kinds += [k for k in (rec.get("reads") or {}) if k not in kinds]
    for kind in kinds:
        yield row(
            f"reads {kind}: req/s", HIGHER, lambda r, k=kind: _get(r, "reads", k, "requests_per_s")
        )
    yield row(
        "memory: peak RSS MiB (all processes)", LOWER, lambda r: _get(r, "memory", "peak_rss_mb")
    )


def _kib(value: float | None) -> float | None:
    return None if value is None else value / 1024


def _len_or_none(value: list[Any] | None) -> int | None:
    return None if value is None else len(value)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _ratio(values: dict[str, float | None], better: str) -> str:
    """How many times better allotment is (>1 = allotment better)."""
    mine, peer = values.get("allotment"), values.get("peer")
    if better == INFO or mine is None or peer is None:
        return ""
    if better == HIGHER:
        return f"{mine / peer:.2f}x" if peer else ""
    if mine == 0:
        return "" if peer == 0 else "inf"
    return f"{peer / mine:.2f}x"


def groups(document: dict[str, Any]) -> dict[tuple[str, int], dict[str, dict[str, Any]]]:
    """Records grouped by (backend, n), then by system."""
    grouped: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for record in document["runs"]:
        grouped.setdefault((record["backend"], record["n"]), {})[record["system"]] = record
    return grouped


def table(records: dict[str, dict[str, Any]], markdown: bool = False) -> str:
    systems = [s for s in ("allotment", "peer") if s in records]
    header = ["metric", *(SYSTEM_LABELS[s] for s in systems)]
    if len(systems) == 2:
        header.append("allotment advantage")
    rows = [
        [
            label,
            *(_fmt(values.get(s)) for s in systems),
            *([_ratio(values, better)] if len(systems) == 2 else []),
        ]
        for label, values, better in _metric_rows(records)
    ]
    if markdown:
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)


def cross_check(records: dict[str, dict[str, Any]]) -> list[str]:
    """Shapes where the two servers return different numbers of candidates."""
    mine, peer = records.get("allotment"), records.get("peer")
    if not mine or not peer:
        return []
    problems = []
    for shape, theirs in (peer.get("candidates") or {}).items():
        ours = _get(mine, "candidates", shape) or {}
        a, b = ours.get("candidates"), theirs.get("candidates")
        if a != b:
            problems.append(
                f"{shape}: allotment {a if a is not None else ours.get('error')}"
                f" vs placement {b if b is not None else theirs.get('error')}"
            )
    return problems


def errors(records: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for system, record in records.items():
        for phase, message in (record.get("errors") or {}).items():
            found.append(f"{system} {phase}: {message}")
        for shape, result in (record.get("candidates") or {}).items():
            if "error" in result:
                found.append(f"{system} candidates {shape}: {result['error']}")
        if record.get("claims", {}).get("over_capacity"):
            found.append(f"{system} over capacity: {record['claims']['over_capacity'][:5]}")
    return found


def render(document: dict[str, Any], markdown: bool = False) -> str:
    parts = []
    for (backend, n), records in groups(document).items():
        title = f"{backend}, N={n} computes"
        parts.append(f"### {title}\n" if markdown else f"\n== {title} ==")
        parts.append(table(records, markdown))
        mismatches = cross_check(records)
        if len(records) == 2:
            verdict = (
                "candidate counts match on every shape"
                if not mismatches
                else "candidate count MISMATCHES:"
            )
            parts.append(("\n" if markdown else "") + verdict)
            parts.extend(f"- {m}" for m in mismatches)
        problems = errors(records)
        if problems:
            parts.append(("\n" if markdown else "") + "errors:")
            parts.extend(f"- {p}" for p in problems)
        parts.append("")
    return "\n".join(parts)


def save(document: dict[str, Any], output: Path) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = output / f"run-{stamp}.json"
    text = json.dumps(document, indent=1, sort_keys=True, default=str)
    path.write_text(text)
    (output / "latest.json").write_text(text)
    (output / "latest.md").write_text(render(document, markdown=True))
    return path


def merge(paths: list[Path]) -> dict[str, Any]:
    """Several results files as one document (runs concatenated, sizes sorted)."""
    documents = [json.loads(path.read_text()) for path in paths]
    runs = [run for document in documents for run in document["runs"]]
    runs.sort(key=lambda r: (r["n"], r["backend"], r["system"]))
    return {**documents[0], "runs": runs, "merged_from": [str(p) for p in paths]}


def chart(document: dict[str, Any], path: Path) -> Path | None:
    """Median candidate latency vs N, one panel per shape, one line per system+backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for record in document["runs"]:
        label = f"{SYSTEM_LABELS[record['system']]} ({record['backend']})"
        for shape, result in (record.get("candidates") or {}).items():
            if "p50_ms" in result:
                series.setdefault(shape, {}).setdefault(label, []).append(
                    (record["n"], result["p50_ms"])
                )
    if not series:
        return None
    columns = 3
    rows = (len(series) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for ax, (shape, lines) in zip(axes.flat, series.items(), strict=False):
        for label, points in sorted(lines.items()):
            points.sort()
            style = "-" if label.startswith("allotment") else "--"
            ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=label)
        ax.set_title(shape)
        ax.set_xlabel("compute nodes (N)")
        ax.set_ylabel("median latency (ms)")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(series) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("GET /allocation_candidates: allotment vs openstack-placement 16.0.0")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
