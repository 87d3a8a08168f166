"""
Profiles of a running worker with py-spy: where a scenario's time goes.

``bench.run --profile KEYS`` samples the gunicorn worker while those scenarios run and writes
``bench/results/profile-<db>-<key>.txt``, with the raw stacks and a flame graph
(``.svg``) beside it. Each report lists the
functions holding the most samples, inclusive of what they call, then by self time.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::(?P<line>\d+))?\)$")


def record(pid: int, seconds: float, out: Path, py_spy: str = "py-spy", fmt: str = "raw") -> subprocess.Popen:
    """
    Start sampling ``pid`` for ``seconds``, writing ``out`` in py-spy's format ``fmt`` (``raw``,
    the folded stacks :func:`summarize` reads, or ``flamegraph``, an SVG to open in a browser);
    the caller waits on the returned process.
    """
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "250",
            "--format",
            fmt,
            "--output",
            str(out),
            "--nonblocking",
            # Waiting counts: on PostgreSQL much of a request is spent waiting for the server.
            "--idle",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _short(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def summarize(raw: Path, top: int = 40) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";") if f.strip()]
        # skip the process/thread header frame py-spy adds
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return "no samples\n"
    lines = [
        f"{total} samples (waiting included: a frame waiting on the database or a socket counts)",
        "",
        "inclusive (a function and what it calls), below the server's own frames:",
    ]
    # The server's own frames (gunicorn, the WSGI handler, middleware) hold nearly every sample.
    below = [(name, n) for name, n in inclusive.most_common() if n < 0.7 * total]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in below[:top]]
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines) + "\n"
