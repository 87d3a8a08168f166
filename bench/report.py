"""
What the benchmark reports: the scenarios' labels, the targets, and the Markdown tables written
to bench/results/ beside the JSON (see bench/floors.py for how each figure is computed).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from bench.floors import extra_text, ratio_text

RESULTS = Path(__file__).resolve().parent / "results"

#: Ratios to the floor (a0) that the scenarios must reach (SQLite, one worker).
TARGETS = {"b": 0.80, "c": 0.50, "d": 0.50, "e": 0.35, "f": 0.35, "g": 0.35}
SCALE_TOLERANCE = 0.10

LABELS = {
    "a": "(a) floor: GET /rest/companies-public, no auth",
    "a0": "(a0) floor: GET /rest/constant-public, no auth, no database",
    "b": "(b) GET /rest/constant, Bearer",
    "b1": "(b1) GET /rest/companies, Bearer",
    "b2": "(b2) GET /rest/constant, Bearer, 10,000 tokens in turn",
    "b3": "(b3) GET /rest/constant, DPoP, a new proof each request",
    "c": "(c) client credentials, client_secret_post",
    "d": "(d) client credentials, client_secret_basic",
    "j": "(j) client credentials, private_key_jwt (ES256)",
    "e": "(e) code exchange with PKCE",
    "f": "(f) refresh with rotation",
    "g": "(g) dynamic registration",
    "k": "(k) introspection, a token of the client's own",
    "r": "(r) revocation of a refresh token and its grant",
    "p": "(p) device-code poll, pending (RFC 8628)",
    "h1": "(h) JWKS",
    "h2": "(h) server metadata",
    "i1": "(i1) (c) during a flood of anonymous authorization requests, 10,000 hosts",
    "i2": "(i2) (c) during a flood of signed-in authorization requests, 10,000 slow hosts",
}

CONFIG_HEADER = [
    "scenario",
    "req/s",
    "p50 ms",
    "p99 ms",
    "ratio to (a)",
    "ratio to (a0)",
    "extra ms over (a0)",
    "target (to a0)",
]


def fmt_row(key: str, s: dict | None, target: float | None) -> list[str]:
    label = LABELS.get(key, key)
    if s is None:
        return [label, *["—"] * (len(CONFIG_HEADER) - 1)]
    if not s["valid"]:
        return [label, "INVALID", *[""] * (len(CONFIG_HEADER) - 3), "; ".join(s["problems"])]
    verdict = ""
    if target is not None and s.get("ratio_a0") is not None:
        # Three digits when it falls short: 0.346 would show as 0.35 in the ratio column.
        met = s["ratio_a0"] >= target
        verdict = f"≥ {target:.2f} met" if met else f"≥ {target:.2f} NOT met ({s['ratio_a0']:.3f})"
    return [
        label,
        f"{s['rps']:.0f}",
        f"{s['p50_ms']:.1f}",
        f"{s['p99_ms']:.1f}",
        ratio_text(s.get("ratio")),
        ratio_text(s.get("ratio_a0")),
        extra_text(s.get("extra_ms")),
        verdict,
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def config_table(summary: dict, targets: bool = True) -> str:
    rows = []
    for key in summary:
        name = key.split(":")[-1]
        rows.append(fmt_row(name, summary[key], TARGETS.get(name) if targets else None))
    return table(CONFIG_HEADER, rows)


def flood_table(rounds: list[dict]) -> str:
    """
    The flood scenarios: (c) alone and during the flood (medians over rounds), the flood's own
    rate and its answers by status (summed over rounds).
    """
    rows = []
    for key in ("i1", "i2"):
        results = [r for entry in rounds for k, r in entry["scenarios"].items() if k.split(":")[-1] == key]
        if not results:
            continue
        problems = sorted({p for r in results for p in r["problems"]})
        if problems:
            rows.append([LABELS[key], "INVALID", "", "", "", "", "; ".join(problems)])
            continue
        statuses: dict[str, int] = {}
        for result in results:
            for code, count in result["flood"]["statuses"].items():
                statuses[code] = statuses.get(code, 0) + count

        def median(values) -> float:
            return statistics.median(list(values))

        def rate(value: float) -> str:
            return f"{value:.0f}" if value >= 10 else f"{value:.1f}"

        rows.append(
            [
                LABELS[key],
                rate(median(r["alone"]["rps"] for r in results)),
                f"{median(r['alone']['p99_us'] for r in results) / 1000:.1f}",
                rate(median(r["rps"] for r in results)),
                f"{median(r['p99_us'] for r in results) / 1000:.1f}",
                rate(median(r["flood"]["rps"] for r in results)),
                ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items())),
            ]
        )
    header = [
        "flood",
        "(c) alone req/s",
        "(c) alone p99 ms",
        "(c) during req/s",
        "(c) during p99 ms",
        "flood req/s",
        "flood answers",
    ]
    return table(header, rows)


def scale_table(base: dict, scaled: dict) -> str:
    """Each scenario's ratio to (a0) without and with the million rows."""
    rows = []
    for key, s in scaled.items():
        name = key.split(":")[-1]
        b = base.get(key)
        if name in ("a", "a0") or b is None:
            continue
        if not (s["valid"] and b["valid"]) or not s.get("ratio_a0") or not b.get("ratio_a0"):
            rows.append([LABELS.get(name, name), "—", "—", "—", "INVALID"])
            continue
        change = s["ratio_a0"] / b["ratio_a0"] - 1
        ok = change >= -SCALE_TOLERANCE
        rows.append(
            [
                LABELS.get(name, name),
                f"{b['ratio_a0']:.2f}",
                f"{s['ratio_a0']:.2f}",
                f"{change * 100:+.0f} %",
                "ok" if ok else "FELL more than 10 %",
            ]
        )
    return table(["scenario", "ratio to (a0), base", "at scale", "change", "within 10 %"], rows)


def peer_table(summaries: dict[str, dict]) -> str:
    columns = list(summaries)
    rows = []
    for name in ("a", "a0", "b", "b1", "c", "d", "e", "f", "g"):
        row = [LABELS[name]]
        for column in columns:
            summary = summaries[column]
            s = summary.get(name) or next((v for k, v in summary.items() if k.endswith(":" + name)), None)
            if s is None:
                row.append("—")
            elif not s["valid"]:
                row.append("INVALID")
            else:
                row.append(
                    f"{ratio_text(s.get('ratio_a0'))} to (a0), {ratio_text(s.get('ratio'))} to (a), "
                    f"{extra_text(s.get('extra_ms'))} ms ({s['rps']:.0f}/s, p99 {s['p99_ms']:.0f} ms)"
                )
        rows.append(row)
    return table(["scenario", *columns], rows)


def write_reports(name: str, title: str, data: dict, markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    md = RESULTS / f"{name}.md"
    md.write_text(f"# {title}\n\n{markdown}\n")
    return md


def header_text(info: dict, load, rounds: int) -> str:
    return (
        f"Run {info['date']} on {info['cpu']} ({info['cores']} cores), {info['os']}, Python "
        f"{info['python']}, {info['wrk']}, commit {info['commit']}. wrk: {load.connections} "
        f"connections, {load.threads} thread(s), {load.duration:g} s a scenario; median of {rounds} "
        f"rounds; ratios = requests/s over the floors (a) and (a0) measured beside it in the same "
        f"round; extra ms = workers × (1/requests/s − 1/requests/s of (a0)); targets against (a0)."
    )


def cleanup_text(c: dict) -> str:
    if not c.get("available"):
        return f"Not measured: {c.get('note')}."
    if "seconds" not in c:
        return f"INVALID: {c.get('note')}\n\n```\n{c.get('stderr', '')}\n```"
    lines = [
        f"- rows before: {c.get('rows_before')}; after: {c.get('rows_after')}",
        f"- time: {c['seconds']:.1f} s; peak memory (RSS) of the command: {c['max_rss_mb']:.0f} MB",
        f"- token issuance (c) while it ran: median {c['issuance_rps_during']:.0f} req/s over "
        f"{c['slices']} one-second slices (lowest slice {c['issuance_min_slice_rps']:.0f}), before "
        f"{c['issuance_rps_before']:.0f}, after {c['issuance_rps_after']:.0f}; slowest answer "
        f"{c['issuance_max_latency_ms_during']:.0f} ms",
        "- every answer during the cleanup valid: "
        + ("yes" if c["valid"] else "NO: " + "; ".join(c["problems"])),
    ]
    return "\n".join(lines)
