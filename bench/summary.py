"""
One table of ratios from the latest runs' JSON in bench/results/ (what bench/README.md shows)::

    python -m bench.summary > bench/results/summary.md
"""

from __future__ import annotations

import json

from bench.run import LABELS, RESULTS, TARGETS


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _cell(summary: dict | None, key: str) -> str:
    if summary is None:
        return "—"
    entry = summary.get(key) or next((v for k, v in summary.items() if k.endswith(":" + key)), None)
    if entry is None:
        return "—"
    if not entry["valid"]:
        return "INVALID"
    return f"{entry['ratio']:.2f}" if entry["ratio"] >= 0.1 else f"{entry['ratio']:.4f}"


def main() -> None:
    columns: list[tuple[str, dict | None]] = []
    dates = []
    for db in ("sqlite", "postgres"):
        data = _load(f"bench-{db}")
        if data:
            dates.append(f"{db}: {data['machine']['date']}, commit {data['machine']['commit']}")
            for config, title in (("1w", "1 worker"), ("2w", "2 workers"), ("scale-1w", "1 worker, 1M rows")):
                if config in data["configs"]:
                    columns.append((f"{db}, {title}", data["configs"][config]["summary"]))
        peer = _load(f"peer-{db}")
        if peer:
            dates.append(f"peer {db}: {peer['machine']['date']}, commit {peer['machine']['commit']}")
            dot = peer["summary"]["dot"]
            columns.append((f"twenty-oauth beside the peer, {db}", peer["summary"]["twenty"]))
            columns.append(
                (f"DOT default, {db}", {k: v for k, v in dot.items() if not k.startswith("tuned:")})
            )
            tuned = {k.split(":")[-1]: v for k, v in dot.items() if k.startswith("tuned:")}
            columns.append((f"DOT hashing off, {db}", {"b": dot.get("default:b"), **tuned}))
    header = ["scenario", "target", *[name for name, _ in columns]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in ("b", "c", "d", "e", "f", "g", "h1", "h2"):
        target = f"≥ {TARGETS[key]:.2f}" if key in TARGETS else ""
        cells = [_cell(summary, key) for _, summary in columns]
        lines.append("| " + " | ".join([LABELS[key], target, *cells]) + " |")
    print("Ratios to the floor (a) measured beside each scenario; median of 3 rounds.\n")
    print("\n".join(lines))
    print("\nRuns: " + "; ".join(dates) + ".")


if __name__ == "__main__":
    main()
