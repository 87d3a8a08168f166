"""
The two floors every scenario is measured against, and the figures drawn from them.

(a)  ``GET /rest/companies-public``: a DRF list view that reads the database, no authentication.
(a0) ``GET /rest/constant-public``: a DRF view with a constant body, no database, no
     authentication: the same middleware and DRF settings as every other view, and nothing else.

In a round both floors run for a short while before the first scenario and again after each
one, on the same server; a scenario's figures come from the floors on either side of it (the
mean of their requests/s):

    ratio      its requests/s over (a)'s
    ratio_a0   its requests/s over (a0)'s
    extra_ms   workers × (1/rps − 1/rps of (a0)), in ms: the worker time a request costs beyond
               (a0)'s, as long as wrk keeps every worker busy (4 connections do, here)

The targets (``TARGETS`` in run.py) are held against (a0).
"""

from __future__ import annotations

import statistics

FLOORS = ("a", "a0")


def relate(result: dict, before: dict[str, dict], after: dict[str, dict], workers: int) -> None:
    """Attach to ``result`` its ratios and extra time against the floors measured beside it."""
    means = {}
    for key in FLOORS:
        sides = [side[key] for side in (before, after) if key in side]
        if not sides:
            continue
        if any(s["problems"] or s["rps"] <= 0 for s in sides):
            result["problems"] = [*result["problems"], f"a floor ({key}) measured beside it was invalid"]
            continue
        means[key] = sum(s["rps"] for s in sides) / len(sides)
    result["floor_rps"] = means.get("a")
    result["floor_a0_rps"] = means.get("a0")
    rps = result["rps"]
    result["ratio"] = rps / means["a"] if "a" in means else None
    result["ratio_a0"] = rps / means["a0"] if "a0" in means else None
    result["extra_ms"] = workers * (1 / rps - 1 / means["a0"]) * 1000 if "a0" in means and rps > 0 else None


def floor_results(rounds: list[dict]) -> dict[str, list[dict]]:
    """
    Every measurement of each floor, (a) related to the (a0) measured right after it in the
    same slot, and (a0) to the (a) right before it.
    """
    out: dict[str, list[dict]] = {key: [] for key in FLOORS}
    for entry in rounds:
        for slot in entry["floors"]:
            for key, result in slot.items():
                result = dict(result)
                relate(result, slot, {}, entry["workers"])
                out[key].append(result)
    return {key: results for key, results in out.items() if results}


def medians(results: list[dict], problems: list[str]) -> dict:
    if problems:
        samples = [r["sample"] for r in results if r.get("sample")]
        return {"valid": False, "problems": problems, "sample": samples[0] if samples else ""}

    def median_of(name: str) -> tuple[float | None, list[float]]:
        values = [r[name] for r in results if r.get(name) is not None]
        return (statistics.median(values) if values else None), values

    ratio, ratios = median_of("ratio")
    ratio_a0, ratios_a0 = median_of("ratio_a0")
    extra_ms, _ = median_of("extra_ms")
    return {
        "valid": True,
        "rps": statistics.median(r["rps"] for r in results),
        "p50_ms": statistics.median(r["p50_us"] for r in results) / 1000,
        "p99_ms": statistics.median(r["p99_us"] for r in results) / 1000,
        "ratio": ratio,
        "ratios": ratios,
        "ratio_a0": ratio_a0,
        "ratios_a0": ratios_a0,
        "extra_ms": extra_ms,
        "requests": sum(r["requests"] for r in results),
    }


def summarize(rounds: list[dict]) -> dict:
    """Per floor and scenario: medians over rounds, or the reasons it is invalid."""
    summary: dict[str, dict] = {}
    for key, results in floor_results(rounds).items():
        summary[key] = medians(results, sorted({p for r in results for p in r["problems"]}))
    keys = list(rounds[0]["scenarios"]) if rounds else []
    for key in keys:
        results = [r["scenarios"][key] for r in rounds]
        summary[key] = medians(results, sorted({p for res in results for p in res["problems"]}))
    return summary


def ratio_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def extra_text(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"
