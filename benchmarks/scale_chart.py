"""Latency vs N from ``benchmarks.candidates_scale --json`` files: a chart and a table.

Usage::

    python -m benchmarks.scale_chart OUT.png FILE.json [FILE.json ...]

One panel per request shape, median latency (log scale) against the number of
computes, one line per backend and mode (``sql``: research by SQL, ``memory``:
the in-memory model), solid for wall-clock time and dashed for the CPU time
of the process. Also prints the numbers as a Markdown table.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson


def load(paths: list[str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in paths:
        records.extend(orjson.loads(Path(path).read_bytes()))
    return records


def table(records: list[dict[str, Any]]) -> str:
    """Markdown: one row per backend, mode and shape; one column per N (wall / cpu ms)."""
    sizes = sorted({r["computes"] for r in records})
    rows: dict[tuple[str, str, str], dict[int, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        rows[(r["backend"], r["shape"], r["mode"])][r["computes"]] = r
    head = "| backend | shape | mode | " + " | ".join(f"N={n:,}" for n in sizes) + " |"
    lines = [head, "|" + "---|" * (3 + len(sizes))]
    for (backend, shape, mode), by_size in sorted(rows.items()):
        cells = []
        for n in sizes:
            r = by_size.get(n)
            cells.append(
                "-" if r is None else f"{r['median_ms']:.1f} ({r.get('median_cpu_ms', 0):.1f})"
            )
        lines.append(f"| {backend} | {shape} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(records: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = sorted({r["shape"] for r in records})
    columns = 3
    rows = (len(shapes) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    series: dict[tuple[str, str, str], list[tuple[int, float, float]]] = defaultdict(list)
    for r in records:
        series[(r["shape"], r["backend"], r["mode"])].append(
            (r["computes"], r["median_ms"], r.get("median_cpu_ms", 0.0))
        )
    colours = {}
    for index, shape in enumerate(shapes):
        ax = axes[index // columns][index % columns]
        for (s, backend, mode), points in sorted(series.items()):
            if s != shape:
                continue
            points.sort()
            xs = [p[0] for p in points]
            key = f"{backend} {mode}"
            colour = colours.setdefault(key, f"C{len(colours)}")
            ax.plot(xs, [p[1] for p in points], "o-", color=colour, label=f"{key} wall")
            ax.plot(xs, [p[2] for p in points], "x--", color=colour, label=f"{key} cpu")
        ax.set_title(shape)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("computes (N)")
        ax.set_ylabel("median ms")
        ax.grid(True, which="both", alpha=0.3)
    for index in range(len(shapes), rows * columns):
        axes[index // columns][index % columns].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize="small")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(out, dpi=90)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        raise SystemExit("usage: python -m benchmarks.scale_chart OUT.png FILE.json [...]")
    records = load(args[1:])
    chart(records, Path(args[0]))
    print(table(records))


if __name__ == "__main__":
    main()
