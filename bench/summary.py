"""
The tables of the latest runs' JSON in bench/results/ (what bench/README.md shows)::

    python -m bench.summary > bench/results/summary.md

Three tables with the same columns: each scenario's ratio to (a0), against which the targets
are held; the extra milliseconds a request costs over (a0); its ratio to (a).
"""

from __future__ import annotations

import json

from bench.floors import extra_text, ratio_text
from bench.report import LABELS, RESULTS, TARGETS

ROWS = ("a", "a0", "b", "b1", "b2", "b3", "c", "d", "e", "f", "g", "h1", "h2")


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _entry(summary: dict | None, key: str) -> dict | None:
    if summary is None:
        return None
    return summary.get(key) or next((v for k, v in summary.items() if k.endswith(":" + key)), None)


def _cell(summary: dict | None, key: str, figure: str) -> str:
    entry = _entry(summary, key)
    if entry is None:
        return "—"
    if not entry["valid"]:
        return "INVALID"
    if figure == "extra_ms":
        return extra_text(entry.get("extra_ms"))
    return ratio_text(entry.get(figure))


def columns() -> tuple[list[tuple[str, dict | None]], list[str]]:
    out: list[tuple[str, dict | None]] = []
    dates = []
    for db in ("sqlite", "postgres"):
        data = _load(f"bench-{db}")
        if data:
            dates.append(f"{db}: {data['machine']['date']}, commit {data['machine']['commit']}")
            for config, title in (("1w", "1 worker"), ("2w", "2 workers"), ("scale-1w", "1 worker, 1M rows")):
                if config in data["configs"]:
                    out.append((f"{db}, {title}", data["configs"][config]["summary"]))
        peer = _load(f"peer-{db}")
        if peer:
            dates.append(f"peer {db}: {peer['machine']['date']}, commit {peer['machine']['commit']}")
            dot = peer["summary"]["dot"]
            default = {k: v for k, v in dot.items() if not k.startswith("tuned:")}
            tuned = {k.split(":")[-1]: v for k, v in dot.items() if k.startswith("tuned:")}
            out.append((f"twenty-oauth beside the peer, {db}", peer["summary"]["twenty"]))
            out.append((f"DOT default, {db}", default))
            # The tuned variant shares the default's server, floors and protected views.
            shared = {k.split(":")[-1]: v for k, v in default.items() if k.split(":")[-1] not in tuned}
            out.append((f"DOT hashing off, {db}", {**shared, **tuned}))
    return out, dates


def table(cols: list[tuple[str, dict | None]], figure: str, targets: bool) -> str:
    header = ["scenario", *(["target"] if targets else []), *[name for name, _ in cols]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in ROWS:
        target = [f"≥ {TARGETS[key]:.2f}" if key in TARGETS else ""] if targets else []
        cells = [_cell(summary, key, figure) for _, summary in cols]
        lines.append("| " + " | ".join([LABELS[key], *target, *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    cols, dates = columns()
    print("Ratios to the floor (a0) measured beside each scenario (the targets' measure); median of 3.\n")
    print(table(cols, "ratio_a0", targets=True))
    print("\nExtra ms a request costs over (a0): workers × (1/requests/s − 1/requests/s of (a0)).\n")
    print(table(cols, "extra_ms", targets=False))
    print("\nRatios to the floor (a), the companies list without authentication.\n")
    print(table(cols, "ratio", targets=False))
    print("\nRuns: " + "; ".join(dates) + ".")


if __name__ == "__main__":
    main()
