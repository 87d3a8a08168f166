"""
The load benchmark: gunicorn serving the example site, wrk driving it, every response checked.

    python -m bench.run                      # SQLite: 1 and 2 workers, then the scale run and cleanup
    python -m bench.run --db postgres        # the same on PostgreSQL (127.0.0.1:5432)
    python -m bench.run --peer               # scenarios (b)-(f) beside django-oauth-toolkit
    python -m bench.run --smoke              # one short round: validity only, for CI
    python -m bench.run --only flood --workers 1 --no-scale   # the flood scenarios (i1, i2) alone

In each round the floors (a) and (a0) run for a short while before the first scenario and
after each one, on the same server, and a scenario's ratios are its throughput over the mean of
each floor on either side of it (bench/floors.py). The report gives, per scenario, the median
over rounds of requests/s, p50, p99, both ratios and the extra milliseconds a request costs over
(a0). A scenario with any non-2xx answer, unexpected body, socket error or spent seed is INVALID
and gets no figure. The flood scenarios (i1, i2) measure (c) alone, then (c) again while a second
wrk floods the authorization endpoint with requests naming 10,000 distinct hosts.
Results go to bench/results/ as Markdown and JSON; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from bench import floors, profiles
from bench.report import (
    LABELS,
    RESULTS,
    cleanup_text,
    config_table,
    flood_table,
    header_text,
    peer_table,
    scale_table,
    write_reports,
)
from bench.slow_names import FLOOD_DOMAIN

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
LUA = BENCH / "lua" / "scenario.lua"
PEER_PYTHON = BENCH / ".venv-peer" / "bin" / "python"
WRK_TIMEOUT = "30s"
FLOOR_PATH = "/rest/companies-public"
CONSTANT_PATH = "/rest/constant"  # and its twin without authentication, CONSTANT_PATH + "-public"
BEARER_TOKENS = 10_000  # scenario (b2): distinct tokens in rotation, more than a process keeps
SMOKE_BEARER_TOKENS = 100
SLOW_SECONDS = 15.0
PORT = 18201  # the peer takes the next one
SMOKE_PORT = 18203
FLOOD_HOSTS = 10_000  # scenarios (i1, i2): distinct host names in each flood
#: (i2): how long a flood host name takes to fail, longer than a fetch may last (5 s), as an
#: attacker's name server would make it; the smoke run, which checks answers only, waits less.
SLOW_NAME_SECONDS = 10.0
SMOKE_SLOW_NAME_SECONDS = 0.05
#: (i1, i2) run longer than the others: one fetch can hold the worker for its whole timeout.
FLOOD_SECONDS = 20.0


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- what is measured -------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    # "codes", "refresh", "revocations", "assertions": a fresh body a request; "bearers": tokens
    seeded: str | None = None
    expect: tuple[str, ...] = ()
    rotate: bool = False  # the seeded lines are sent in turn, round and round, not spent
    line_header: str | None = None  # a seeded line is this header's value, not the body
    line_prefix: str = ""
    line_headers: tuple[str, ...] = ()  # a seeded line holds these headers' values, space-separated
    min_duration: float = 0.0  # for answers that take seconds (a peer's hashed secrets)
    line_path: bool = False  # a seeded line is the request's path
    statuses: tuple[int, ...] = ()  # the answers expected instead of 2xx (a flood's refusals)
    during: Scenario | None = None  # a flood: the scenario measured alone, then while it floods
    status: int | None = None  # the one status every answer must have; None: any 2xx
    expect_any: tuple[str, ...] = ()  # substrings of which every answer must contain one


@dataclass
class Site:
    """One server under test: how to start it, seed it, and what to ask of it."""

    name: str
    python: Path
    settings: str
    wsgi: str
    seeder: str
    port: int
    env: dict[str, str]
    variant: str = ""  # a peer's tuned configuration shares its server
    state: dict = field(default_factory=dict)

    def django_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env, "DJANGO_SETTINGS_MODULE": self.settings}
        env["PYTHONPATH"] = str(REPO)
        return env

    def seed(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.python), "-m", self.seeder, *args],
            cwd=REPO,
            env=self.django_env(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"seeding {self.name} failed ({' '.join(args[:1])}):\n{result.stderr[-3000:]}")
        return result.stdout


# Both servers' constant views answer these bytes (example_project/companies/views.py).
CONSTANT_EXPECT = ('"answer":"constant"',)


def common_scenarios(
    state: dict, token_path: str, client_id: str, client_secret: str, basic_authorization: str
) -> dict[str, Scenario]:
    """(a)–(f), which both servers answer alike but for the token endpoint and the client."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token_expect = ('"access_token"', '"token_type": "Bearer"')
    companies = tuple(f'"name":"{name}"' for name in state["companies"][:2])
    bearer = {"Authorization": f"Bearer {state['bearer']}"}
    return {
        "a": Scenario("a", "GET", FLOOR_PATH, expect=companies),
        "a0": Scenario("a0", "GET", CONSTANT_PATH + "-public", expect=CONSTANT_EXPECT),
        "b": Scenario("b", "GET", CONSTANT_PATH, bearer, expect=CONSTANT_EXPECT),
        "b1": Scenario("b1", "GET", "/rest/companies", bearer, expect=companies),
        "c": Scenario(
            "c",
            "POST",
            token_path,
            form,
            f"grant_type=client_credentials&scope=api&client_id={client_id}&client_secret={client_secret}",
            expect=token_expect,
        ),
        "d": Scenario(
            "d",
            "POST",
            token_path,
            {**form, "Authorization": basic_authorization},
            "grant_type=client_credentials&scope=api",
            expect=token_expect,
        ),
        "e": Scenario(
            "e", "POST", token_path, form, seeded="codes", expect=(*token_expect, '"refresh_token"')
        ),
        "f": Scenario(
            "f", "POST", token_path, form, seeded="refresh", expect=(*token_expect, '"refresh_token"')
        ),
    }


def twenty_scenarios(state: dict) -> dict[str, Scenario]:
    scenarios = common_scenarios(
        state,
        "/oauth/token",
        state["post_client_id"],
        state["post_client_secret"],
        state["basic_authorization"],
    )
    rotating = Scenario(
        "b2",
        "GET",
        CONSTANT_PATH,
        seeded="bearers",
        rotate=True,
        line_header="Authorization",
        line_prefix="Bearer ",
        expect=CONSTANT_EXPECT,
    )
    # (b) with a DPoP-bound token: each request a proof of its own, as a jti is accepted once
    # (RFC 9449 §11.1), so each costs a signature check that (b) caches.
    proven = Scenario(
        "b3",
        "GET",
        CONSTANT_PATH,
        seeded="dpop_proofs",
        line_headers=("Authorization", "DPoP"),
        line_prefix="DPoP ",
        expect=CONSTANT_EXPECT,
    )
    # Each request a client assertion of its own, as a jti is accepted once (RFC 7523 §3).
    signed = Scenario(
        "j",
        "POST",
        "/oauth/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        seeded="assertions",
        expect=('"access_token"', '"token_type": "Bearer"'),
    )
    scenarios = {k: v for k, v in scenarios.items() if k in ("a", "a0", "b", "b1")} | {
        "b2": rotating,
        "b3": proven,
        **{k: v for k, v in scenarios.items() if k in ("c", "d")},
        "j": signed,
        **{k: v for k, v in scenarios.items() if k not in ("a", "a0", "b", "b1", "c", "d")},
    }
    scenarios.update(
        g=Scenario(
            "g",
            "POST",
            "/oauth/register",
            {"Content-Type": "application/json"},
            state["registration"],
            expect=('"client_id"', '"client_secret"'),
        ),
        k=Scenario(
            "k",
            "POST",
            "/oauth/introspect",
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode(
                {
                    "token": state["bearer"],
                    "client_id": state["post_client_id"],
                    "client_secret": state["post_client_secret"],
                }
            ),
            expect=('"active": true', '"client_id"'),
        ),
        r=Scenario(
            "r",
            "POST",
            "/oauth/revoke",
            {"Content-Type": "application/x-www-form-urlencoded"},
            seeded="revocations",
        ),
        # RFC 8628 §3.5: a device polling while its person has not decided. The device codes go
        # round like (b2)'s tokens, so a code comes back every few seconds: pending, or slow_down
        # when that is sooner than its interval; both are the same work, and 400 is their status.
        p=Scenario(
            "p",
            "POST",
            "/oauth/token",
            {"Content-Type": "application/x-www-form-urlencoded"},
            seeded="device_codes",
            rotate=True,
            status=400,
            expect_any=('"error": "authorization_pending"', '"error": "slow_down"'),
        ),
        h1=Scenario("h1", "GET", "/oauth/jwks", expect=('"keys"', '"kid"')),
        h2=Scenario(
            "h2", "GET", "/.well-known/oauth-authorization-server", expect=('"token_endpoint"', '"issuer"')
        ),
        # Anonymous: sent to the login page, nothing fetched.
        i1=Scenario("i1", "GET", "/", statuses=(302,), during=scenarios["c"]),
        # Signed in: each request the address's budget allows is a fetch of a slow name (the
        # error page, 400), the others are refused (429), or find no free place (503).
        i2=Scenario(
            "i2",
            "GET",
            "/",
            {"Cookie": state["session_cookie"]},
            statuses=(400, 429, 503),
            during=scenarios["c"],
        ),
    )
    return scenarios


FLOOD_KEYS = ("i1", "i2")


def flood_lines(path: Path, tag: str, count: int = FLOOD_HOSTS) -> None:
    """
    ``count`` authorization requests, each naming a client ID metadata document on a host of
    its own (``h<N>.<tag>.flood.invalid``: what wildcard DNS gives an attacker), one path a line.
    """
    lines = []
    for n in range(count):
        query = {
            "client_id": f"https://h{n}.{tag}{FLOOD_DOMAIN}/client",
            "response_type": "code",
            "redirect_uri": "https://app.example.com/callback",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        lines.append("/oauth/authorize?" + urlencode(query))
    path.write_text("\n".join(lines) + "\n")


def peer_scenarios(state: dict, variant: str) -> dict[str, Scenario]:
    """django-oauth-toolkit's equivalents; ``variant`` picks the hashed or unhashed application."""
    app = state[variant]
    scenarios = common_scenarios(
        state, "/o/token/", app["client_id"], app["client_secret"], app["basic_authorization"]
    )
    if variant == "default":
        # Each request hashes a secret with Django's password hasher: seconds, not milliseconds.
        for key in "cdef":
            scenarios[key].min_duration = SLOW_SECONDS
        scenarios["g"] = Scenario(
            "g",
            "POST",
            "/o/register/",
            {"Content-Type": "application/json"},
            state["registration"],
            expect=('"client_id"', '"client_secret"'),
            min_duration=SLOW_SECONDS,
        )
    return scenarios


# --- the server -------------------------------------------------------------------------------


class Server:
    def __init__(self, site: Site, workers: int, logdir: Path) -> None:
        self.site = site
        self.workers = workers
        self.logfile = logdir / f"gunicorn-{site.name}-{workers}w.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.site.port}"

    def __enter__(self) -> Server:
        gunicorn = self.site.python.parent / "gunicorn"
        with open(self.logfile, "ab") as out:
            self.process = subprocess.Popen(
                [
                    str(gunicorn),
                    self.site.wsgi,
                    "--workers",
                    str(self.workers),
                    "--worker-class",
                    "sync",
                    "--bind",
                    f"127.0.0.1:{self.site.port}",
                    "--chdir",
                    str(REPO),
                    "--timeout",
                    "60",
                    "--no-control-socket",
                ],
                cwd=REPO,
                env=self.site.django_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn for {self.site.name} exited; see {self.logfile}")
            try:
                with urllib.request.urlopen(self.url + FLOOR_PATH, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"gunicorn for {self.site.name} did not answer; see {self.logfile}")

    def drain(self) -> None:
        """
        Wait for the requests wrk left behind: when it stops, the server may still hold
        queued ones (seconds each when a peer hashes secrets), which would eat into the next run.
        """
        with urllib.request.urlopen(self.url + FLOOR_PATH, timeout=300) as response:  # noqa: S310
            response.read()

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- wrk --------------------------------------------------------------------------------------


def lua_string(value: str) -> str:
    level = 1
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]"


def write_script(path: Path, scenario: Scenario, threads: int, bodies: Path | None) -> None:
    headers = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in scenario.headers.items())
    expect = ", ".join(lua_string(s) for s in scenario.expect)
    expect_any = ", ".join(lua_string(s) for s in scenario.expect_any)
    line_headers = ", ".join(lua_string(h) for h in scenario.line_headers)
    line_headers = f"{{{line_headers}}}" if scenario.line_headers else "nil"
    lines = [
        "cfg = {",
        f"  method = {lua_string(scenario.method)},",
        f"  path = {lua_string(scenario.path)},",
        f"  headers = {{{headers}}},",
        f"  body = {lua_string(scenario.body) if scenario.body is not None else 'nil'},",
        f"  bodies = {lua_string(str(bodies)) if bodies else 'nil'},",
        f"  rotate = {'true' if scenario.rotate else 'false'},",
        f"  line_header = {lua_string(scenario.line_header) if scenario.line_header else 'nil'},",
        f"  line_prefix = {lua_string(scenario.line_prefix)},",
        f"  line_headers = {line_headers},",
        f"  line_path = {'true' if scenario.line_path else 'false'},",
        f"  expect = {{{expect}}},",
        f"  statuses = {{{', '.join(str(code) for code in scenario.statuses)}}},",
        f"  expect_any = {{{expect_any}}},",
        f"  status = {scenario.status if scenario.status is not None else 'nil'},",
        f"  fallback = {lua_string(FLOOR_PATH)},",
        f"  threads = {threads},",
        "}",
        f"dofile({lua_string(str(LUA))})",
    ]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Load:
    connections: int = 4
    threads: int = 1
    duration: float = 5.0


def wrk_command(url: str, script: Path, load: Load, seconds: float) -> list[str]:
    return [
        "wrk",
        "-t",
        str(load.threads),
        "-c",
        str(load.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(script),
        url,
    ]


def wrk(url: str, script: Path, load: Load, duration: float | None = None) -> dict:
    seconds = duration if duration is not None else load.duration
    result = subprocess.run(
        wrk_command(url, script, load, seconds), capture_output=True, text=True, timeout=seconds + 60
    )
    return wrk_result(result.stdout, result.stderr)


def wrk_result(stdout: str, stderr: str) -> dict:
    """The BENCH_JSON line of a wrk run, with its requests/s and what makes it invalid."""
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            break
    else:
        raise SystemExit(f"wrk gave no result:\n{stdout}\n{stderr}")
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6) if data["duration_us"] else 0.0
    problems = []
    if data["exhausted"]:
        problems.append(f"ran out of seeded bodies ({data['exhausted']} extra requests)")
    if data["bad_status"]:
        problems.append(f"{data['bad_status']} unexpected statuses")
    if data["bad_body"]:
        problems.append(f"{data['bad_body']} unexpected bodies")
    errors = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
    if errors:
        problems.append(
            f"socket errors: connect {data['connect_errors']}, read {data['read_errors']}, "
            f"write {data['write_errors']}, timeout {data['timeouts']}"
        )
    if data["requests"] == 0:
        problems.append("no request completed")
    data["problems"] = problems
    return data


# --- a round ----------------------------------------------------------------------------------


class Runner:
    def __init__(
        self,
        workdir: Path,
        load: Load,
        profile: tuple[str, ...] = (),
        label: str = "",
        bearer_tokens: int = BEARER_TOKENS,
        flood_seconds: float = FLOOD_SECONDS,
    ) -> None:
        self.workdir = workdir
        self.load = load
        self.flood_seconds = flood_seconds
        self.floods = 0
        self.bearer_tokens = bearer_tokens
        self.rotating: dict[tuple[str, str], tuple[Path, float]] = {}  # seeded file, valid until
        self.previous: dict[tuple[str, str, str], float] = {}
        self.profile = set(profile)
        self.label = label
        self.profiled: set[tuple[str, str, str]] = set()

    def measure(
        self, server: Server, site: Site, scenario: Scenario, floor_rps: float, duration: float | None = None
    ) -> dict:
        seconds = max(duration or self.load.duration, scenario.min_duration)
        bodies = None
        if scenario.during is not None:
            result = self.measure_flood(server, site, scenario)
        elif scenario.rotate:
            result = self._run(server, site, scenario, self.rotating_seed(site, scenario), seconds)
        elif scenario.seeded:
            key = (site.name, site.variant, scenario.key)
            # Enough for the fastest this could go: the machine's other work comes and goes.
            expected = max(self.previous.get(key, 0) * 2.5, floor_rps)
            count = int(expected * seconds) + 200
            for _attempt in range(3):
                bodies = self.workdir / f"{site.name}-{site.variant}-{scenario.key}.txt"
                site.seed(scenario.seeded, str(count), str(bodies), *self.seed_args(site))
                result = self._run(server, site, scenario, bodies, seconds)
                if not result["exhausted"]:
                    break
                log(f"  {site.name}{site.variant} {scenario.key}: seeds ran out, seeding {count * 3}")
                count *= 3
        else:
            result = self._run(server, site, scenario, None, seconds)
        if not result["problems"]:
            self.previous[(site.name, site.variant, scenario.key)] = result["rps"]
        return result

    def measure_flood(self, server: Server, site: Site, flood: Scenario) -> dict:
        """
        ``flood.during`` alone, then again while a second wrk sends ``flood``: as many
        connections, each request naming a host of its own, fresh for each run (so that no
        failure remembered from a run before makes it cheaper). The result is the second
        measurement, with ``alone`` (the first) and ``flood`` (the flood's own figures).
        """
        target, seconds = flood.during, self.flood_seconds
        alone = self._run(server, site, target, None, seconds)
        self.floods += 1
        lines = self.workdir / f"flood-{flood.key}.txt"
        flood_lines(lines, f"{flood.key}r{self.floods}")
        flood_script = self.workdir / f"{site.name}-{flood.key}-flood.lua"
        write_script(flood_script, replace(flood, line_path=True, rotate=True), 1, lines)
        target_script = self.workdir / f"{site.name}-{flood.key}-{target.key}.lua"
        write_script(target_script, target, self.load.threads, None)
        flooding = subprocess.Popen(
            wrk_command(server.url, flood_script, Load(self.load.connections, 1), seconds + 1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            during = wrk(server.url, target_script, self.load, duration=seconds)
        finally:
            stdout, stderr = flooding.communicate(timeout=seconds + 60)
        flooded = wrk_result(stdout, stderr)
        server.drain()
        during["alone"], during["flood"] = alone, flooded
        during["problems"] = [
            *during["problems"],
            *(f"(c) alone: {p}" for p in alone["problems"]),
            *(f"the flood: {p}" for p in flooded["problems"]),
        ]
        status = "ok" if not during["problems"] else "INVALID: " + "; ".join(during["problems"])
        log(
            f"  {site.name} {flood.key:>2}: {target.key} {during['rps']:8.1f} req/s  "
            f"p99 {during['p99_us'] / 1000:7.1f} ms during the flood ({alone['rps']:.1f} req/s, "
            f"p99 {alone['p99_us'] / 1000:.1f} ms alone); flood {flooded['rps']:.1f} req/s "
            f"{flooded['statuses']}  {status}"
        )
        if flooded["problems"] and flooded["sample"]:
            log(f"     first unexpected flood answer: {flooded['sample'][:200]}")
        return during

    def rotating_seed(self, site: Site, scenario: Scenario) -> Path:
        """
        Lines sent in turn are not spent: seeded once, and again only when the first ones are
        within half their lifetime of expiring (a run with the million rows lasts a while).
        """
        key = (site.name, scenario.seeded)
        seeded = self.rotating.get(key)
        if seeded and seeded[1] > time.time():
            return seeded[0]
        path = self.workdir / f"{site.name}-{scenario.seeded}.txt"
        started = time.time()
        answer = json.loads(site.seed(scenario.seeded, str(self.bearer_tokens), str(path)))
        log(f"  seeded {self.bearer_tokens} {scenario.seeded} in {time.time() - started:.1f} s")
        self.rotating[key] = (path, started + (answer["expires_at"] - started) / 2)
        return path

    def _start_profile(self, server: Server, site: Site, scenario: Scenario, seconds: float):
        """py-spy on the (first) worker during the first measured run of a profiled scenario."""
        key = (site.name, site.variant, scenario.key)
        if scenario.key not in self.profile or key in self.profiled:
            return None
        self.profiled.add(key)
        name = f"profile-{self.label}-{site.name}{'-' + site.variant if site.variant else ''}-{scenario.key}"
        raw = RESULTS / f"{name}.raw"
        py_spy = Path(sys.executable).parent / "py-spy"
        pid = server.worker_pids()[0]
        processes = [
            profiles.record(pid, seconds - 0.5, RESULTS / f"{name}.{suffix}", str(py_spy), fmt)
            for suffix, fmt in (("raw", "raw"), ("svg", "flamegraph"))
        ]
        return processes, raw, RESULTS / f"{name}.txt", scenario

    def _finish_profile(self, processes, raw: Path, report: Path, scenario: Scenario) -> None:
        for process in processes:
            process.wait(timeout=120)
        if raw.exists():
            report.write_text(f"{LABELS.get(scenario.key, scenario.key)}\n\n{profiles.summarize(raw)}")
            log(f"     profile: {report}")

    def seed_args(self, site: Site) -> list[str]:
        if site.variant:
            return [site.variant, site.state[site.variant]["code_client_secret"]]
        return [site.state["post_client_secret"]]

    def _run(
        self, server: Server, site: Site, scenario: Scenario, bodies: Path | None, seconds: float
    ) -> dict:
        script = self.workdir / f"{site.name}-{site.variant}-{scenario.key}.lua"
        write_script(script, scenario, self.load.threads, bodies)
        sampling = self._start_profile(server, site, scenario, seconds)
        result = wrk(server.url, script, self.load, duration=seconds)
        if sampling:
            self._finish_profile(*sampling)
        server.drain()
        status = "ok" if not result["problems"] else "INVALID: " + "; ".join(result["problems"])
        log(
            f"  {site.name}{'/' + site.variant if site.variant else ''} {scenario.key:>2}: "
            f"{result['rps']:8.1f} req/s  p50 {result['p50_us'] / 1000:7.1f} ms  "
            f"p99 {result['p99_us'] / 1000:7.1f} ms  {status}"
        )
        if result["problems"] and result["sample"]:
            log(f"     first bad answer: {result['sample'][:200]}")
        return result


def run_rounds(
    runner: Runner,
    server: Server,
    plans: list[tuple[Site, dict[str, Scenario]]],
    rounds: int,
    paired: bool = True,
) -> list[dict]:
    """
    ``plans``: (site, scenarios) sharing ``server``; the floors are the first plan's (a) and
    (a0). In a round the floors run before the first scenario and again after each one, and a
    scenario's ratios are its throughput over the mean of each floor on either side of it:
    other work on this machine changes from minute to minute, and a ratio between adjacent runs,
    with the floor on both sides, is what that drift disturbs least. Unpaired (the smoke run),
    the floors run once.
    """
    floor_site, floor_scenarios = plans[0]
    floor_plan = {k: floor_scenarios[k] for k in floors.FLOORS if k in floor_scenarios}
    floor_seconds = min(runner.load.duration, 2.0)

    def measure_floors() -> dict[str, dict]:
        return {
            key: runner.measure(server, floor_site, scenario, 0, duration=floor_seconds)
            for key, scenario in floor_plan.items()
        }

    all_rounds = []
    for number in range(1, rounds + 1):
        log(f"round {number}/{rounds} on {server.site.name}, {server.workers} worker(s)")
        before = measure_floors()
        entry: dict = {"round": number, "workers": server.workers, "floors": [before], "scenarios": {}}
        for site, scenarios in plans:
            for key, scenario in scenarios.items():
                if key in floors.FLOORS:
                    continue
                result = runner.measure(server, site, scenario, before["a"]["rps"])
                after = measure_floors() if paired else before
                if paired:
                    entry["floors"].append(after)
                floors.relate(result, before, after, server.workers)
                entry["scenarios"][f"{site.variant or site.name}:{key}"] = result
                before = after
        all_rounds.append(entry)
    return all_rounds


# --- the sites --------------------------------------------------------------------------------


def twenty_site(args, port: int, db: str, logdir: Path) -> Site:
    slow = SMOKE_SLOW_NAME_SECONDS if args.smoke else SLOW_NAME_SECONDS
    env = {"BENCH_DB": db, "BENCH_SLOW_NAMES_SECONDS": str(slow)}
    if db == "postgres":
        env["BENCH_PGDATABASE"] = args.pgdatabase
        if args.pg_pool:
            env["BENCH_PG_POOL"] = "1"
    else:
        env["BENCH_SQLITE"] = str(logdir / "twenty.sqlite3")
    return Site(
        name="twenty",
        python=Path(sys.executable),
        settings="bench.settings",
        wsgi="example_project.wsgi:application",
        seeder="bench.seed",
        port=port,
        env=env,
    )


def peer_site(args, port: int, db: str, logdir: Path) -> Site:
    env = {"BENCH_DB": db}
    if db == "postgres":
        env["BENCH_PGDATABASE"] = args.pgdatabase + "_peer"
    else:
        env["BENCH_SQLITE"] = str(logdir / "peer.sqlite3")
    return Site(
        name="dot",
        python=PEER_PYTHON,
        settings="bench.peer.settings",
        wsgi="bench.peer.wsgi:application",
        seeder="bench.peer.seed",
        port=port,
        env=env,
    )


def fresh_database(site: Site) -> None:
    """A new, empty database for a run: the SQLite file removed, or the PostgreSQL db recreated."""
    if site.env["BENCH_DB"] == "postgres":
        import psycopg

        name = site.env["BENCH_PGDATABASE"]
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            pg.execute(f'CREATE DATABASE "{name}"')
    else:
        path = Path(site.env["BENCH_SQLITE"])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def prepare(site: Site) -> None:
    fresh_database(site)
    site.state = json.loads(site.seed("setup"))


def warm_up(runner: Runner, server: Server, site: Site, scenarios: dict[str, Scenario]) -> None:
    """One second of each constant scenario: imports, caches and connections, not measured."""
    for key, scenario in scenarios.items():
        if scenario.seeded or scenario.during is not None or key == "g":
            continue
        script = runner.workdir / f"warm-{site.name}-{key}.lua"
        write_script(script, scenario, runner.load.threads, None)
        wrk(server.url, script, runner.load, duration=1)


# --- cleanup under load -----------------------------------------------------------------------


def cleanup_under_load(runner: Runner, server: Server, site: Site, scenario: Scenario) -> dict:
    """
    Run ``manage.py oauth_cleanup`` while clients keep asking for tokens, in one-second slices:
    issuance must go on (valid answers in every slice) while the expired rows go.
    """
    command = REPO / "twenty_oauth" / "management" / "commands" / "oauth_cleanup.py"
    if not command.exists():
        return {"available": False, "note": "twenty_oauth has no oauth_cleanup command yet"}
    script = runner.workdir / "cleanup-load.lua"
    write_script(script, scenario, runner.load.threads, None)
    baseline = [wrk(server.url, script, runner.load, duration=1) for _ in range(3)]
    holder: dict = {}

    def probe() -> None:
        result = subprocess.run(
            [str(site.python), "-m", "bench.cleanup_probe"],
            cwd=REPO,
            env=site.django_env(),
            capture_output=True,
            text=True,
        )
        holder["returncode"] = result.returncode
        holder["stdout"] = result.stdout
        holder["stderr"] = result.stderr[-3000:]

    thread = threading.Thread(target=probe)
    thread.start()
    slices = []
    while thread.is_alive():
        slices.append(wrk(server.url, script, runner.load, duration=1))
    thread.join()
    after = [wrk(server.url, script, runner.load, duration=1) for _ in range(2)]
    if holder["returncode"] != 0:
        return {"available": True, "valid": False, "note": "oauth_cleanup failed", "stderr": holder["stderr"]}
    report = json.loads(holder["stdout"].strip().splitlines()[-1])
    during_problems = sorted({p for s in slices for p in s["problems"]})
    report.update(
        available=True,
        valid=not during_problems,
        problems=during_problems,
        issuance_rps_before=statistics.median(s["rps"] for s in baseline),
        issuance_rps_during=statistics.median(s["rps"] for s in slices) if slices else None,
        issuance_min_slice_rps=min((s["rps"] for s in slices), default=None),
        issuance_max_latency_ms_during=max((s["max_us"] for s in slices), default=0) / 1000,
        issuance_rps_after=statistics.median(s["rps"] for s in after),
        slices=len(slices),
    )
    return report


# --- reports ----------------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "wrk": wrk_version.strip(),
        "commit": commit.stdout.strip(),
    }


# --- modes ------------------------------------------------------------------------------------


def bench_main(args, load: Load) -> int:
    info = machine()
    db = args.db
    # Its own directory and database: runs with other ports (the smoke run, say) can go at once.
    workdir = RESULTS / f"work-{'smoke' if args.smoke else db}-{args.port}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    runner = Runner(
        workdir,
        load,
        args.profile,
        label=db,
        bearer_tokens=args.bearer_tokens,
        flood_seconds=load.duration if args.smoke else max(load.duration, FLOOD_SECONDS),
    )
    port = args.port
    site = twenty_site(args, port, db, workdir)
    log(f"seeding a fresh {db} database")
    prepare(site)
    scenarios = twenty_scenarios(site.state)
    if args.only:
        keys = [k for key in args.only.split(",") for k in (FLOOD_KEYS if key == "flood" else (key,))]
        scenarios = {k: v for k, v in scenarios.items() if k in floors.FLOORS or k in keys}
    data: dict = {"machine": info, "db": db, "load": load.__dict__, "rounds": args.rounds, "configs": {}}
    md = [header_text(info, load, args.rounds), ""]
    data["bearer_tokens"] = args.bearer_tokens
    if args.bearer_tokens != BEARER_TOKENS:
        md += [f"(b2) here goes round {args.bearer_tokens} tokens, not {BEARER_TOKENS:,}.", ""]
    # Only a complete run is the report of record; a partial one (--only, --profile, fewer
    # configurations) is kept beside it.
    complete = not (args.only or args.profile) and args.scale and args.workers == [1, 2]
    report_name = "smoke" if args.smoke else f"bench-{db}" + ("" if complete else "-partial")
    invalid = False
    for workers in args.workers:
        with Server(site, workers, workdir) as server:
            if not args.smoke:
                warm_up(runner, server, site, scenarios)
            rounds = run_rounds(runner, server, [(site, scenarios)], args.rounds, paired=not args.smoke)
        summary = floors.summarize(rounds)
        invalid |= any(not s["valid"] for s in summary.values())
        data["configs"][f"{workers}w"] = {"rounds": rounds, "summary": summary}
        title = f"## {db}, {workers} worker(s)"
        if args.smoke:
            title += " — smoke run: validity only, figures from 1-second runs mean nothing"
        md += [title, "", config_table(summary, targets=not args.smoke), ""]
        if any(key.split(":")[-1] in FLOOD_KEYS for key in summary):
            md += [flood_table(rounds), ""]
        write_reports(report_name, f"twenty-oauth load benchmark ({db})", data, "\n".join(md))
    if args.scale and not args.smoke:
        log(f"seeding {args.scale_clients} clients and {args.scale_tokens} access + refresh token rows")
        counts = json.loads(site.seed("scale", str(args.scale_clients), str(args.scale_tokens)))
        log(f"  {counts}")
        # The million rows change nothing a flood does: (i1) and (i2) are left out here.
        steady = {k: v for k, v in scenarios.items() if k not in FLOOD_KEYS}
        with Server(site, 1, workdir) as server:
            warm_up(runner, server, site, steady)
            rounds = run_rounds(runner, server, [(site, steady)], args.rounds)
            summary = floors.summarize(rounds)
            invalid |= any(not s["valid"] for s in summary.values())
            data["configs"]["scale-1w"] = {"rounds": rounds, "summary": summary, "rows": counts}
            base = data["configs"].get("1w", {}).get("summary", {})
            md += [
                f"## {db}, 1 worker, at scale ({counts['clients']} clients, {counts['access_tokens']} access "
                f"and {counts['refresh_tokens']} refresh token rows; seeded in {counts['seconds']} s)",
                "",
                config_table(summary),
                "",
                "Against the run without those rows (ratios, so that the machine's load cancels out; "
                "(h) reads no table, so its change is the noise of this machine):",
                "",
                scale_table(base, summary),
                "",
            ]
            log("oauth_cleanup on the expired rows while tokens are being issued")
            issuance = twenty_scenarios(site.state)["c"]  # whichever scenarios --only kept
            cleanup = cleanup_under_load(runner, server, site, issuance)
        data["cleanup"] = cleanup
        md += ["## oauth_cleanup under load", "", cleanup_text(cleanup), ""]
    report = write_reports(report_name, f"twenty-oauth load benchmark ({db})", data, "\n".join(md))
    print("\n".join(md))
    log(f"written {report} and {report.with_suffix('.json')}")
    if invalid:
        log("some scenarios are INVALID (see above)")
        return 1
    return 0


def peer_main(args, load: Load) -> int:
    if not PEER_PYTHON.exists():
        raise SystemExit(f"{PEER_PYTHON} is missing: run `make bench-peer`, which builds it.")
    info = machine()
    db = args.db
    workdir = RESULTS / f"work-peer-{db}-{args.port}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    runner = Runner(workdir, load, args.profile, label=f"peer-{db}")
    twenty = twenty_site(args, args.port, db, workdir)
    dot = peer_site(args, args.port + 1, db, workdir)
    log(f"seeding fresh {db} databases for twenty-oauth and django-oauth-toolkit")
    prepare(twenty)
    prepare(dot)
    dot_tuned = Site(**{**dot.__dict__, "variant": "tuned"})
    dot_default = Site(**{**dot.__dict__, "variant": "default"})
    keep = ("a", "a0", "b", "b1", "c", "d", "e", "f", "g")
    ours = {k: v for k, v in twenty_scenarios(twenty.state).items() if k in keep}
    theirs_default = peer_scenarios(dot.state, "default")
    theirs_tuned = {k: v for k, v in peer_scenarios(dot.state, "tuned").items() if k in "cdef"}
    results: dict[str, list[dict]] = {"twenty": [], "dot": []}
    with Server(twenty, 1, workdir) as s1, Server(dot, 1, workdir) as s2:
        warm_up(runner, s1, twenty, ours)
        warm_up(runner, s2, dot_default, theirs_default)
        for number in range(1, args.rounds + 1):
            log(f"peer round {number}/{args.rounds}")
            results["twenty"] += run_rounds(runner, s1, [(twenty, ours)], 1)
            results["dot"] += run_rounds(
                runner, s2, [(dot_default, theirs_default), (dot_tuned, theirs_tuned)], 1
            )
    summary_twenty = floors.summarize(results["twenty"])
    summary_dot = floors.summarize(results["dot"])
    columns = {
        "twenty-oauth": summary_twenty,
        "django-oauth-toolkit (default: secrets hashed)": {
            k.split(":")[-1]: v for k, v in summary_dot.items() if not k.startswith("tuned:")
        },
        "django-oauth-toolkit (tuned: hashing off)": {
            "a": summary_dot["a"],
            "a0": summary_dot.get("a0"),
            "b": summary_dot.get("default:b"),
            "b1": summary_dot.get("default:b1"),
            **{k.split(":")[-1]: v for k, v in summary_dot.items() if k.startswith("tuned:")},
        },
    }
    columns["django-oauth-toolkit (tuned: hashing off)"] = {
        k: v for k, v in columns["django-oauth-toolkit (tuned: hashing off)"].items() if v is not None
    }
    invalid = any(not s["valid"] for s in (*summary_twenty.values(), *summary_dot.values()))
    md = [
        header_text(info, load, args.rounds),
        "",
        f"Both servers: gunicorn, 1 sync worker, {db}, same Django/DRF/gunicorn versions. Each cell: "
        "ratio to that server's own floor (a) (requests/s, p99).",
        "",
        peer_table(columns),
        "",
        "### twenty-oauth",
        "",
        config_table(summary_twenty),
        "",
        "### django-oauth-toolkit",
        "",
        config_table(summary_dot),
        "",
    ]
    data = {
        "machine": info,
        "db": db,
        "load": load.__dict__,
        "twenty": results["twenty"],
        "dot": results["dot"],
    }
    data["summary"] = {"twenty": summary_twenty, "dot": summary_dot}
    report = write_reports(
        f"peer-{db}" + ("-partial" if args.profile else ""),
        f"twenty-oauth beside django-oauth-toolkit ({db})",
        data,
        "\n".join(md),
    )
    print("\n".join(md))
    log(f"written {report}")
    return 1 if invalid else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pgdatabase", default="bench_twenty_oauth")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds a scenario a round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--no-scale", dest="scale", action="store_false")
    parser.add_argument("--scale-clients", type=int, default=100_000)
    parser.add_argument("--scale-tokens", type=int, default=1_000_000)
    parser.add_argument(
        "--only", default="", help="comma-separated scenario keys (a, a0 always run; flood: i1 and i2)"
    )
    parser.add_argument(
        "--bearer-tokens",
        type=int,
        default=BEARER_TOKENS,
        help="distinct tokens scenario (b2) sends in turn (the smoke run: 100, to go round them)",
    )
    parser.add_argument("--peer", action="store_true", help="compare with django-oauth-toolkit")
    parser.add_argument("--smoke", action="store_true", help="one short round, validity only")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated scenario keys to sample with py-spy (installed on demand)",
    )
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument(
        "--pg-pool",
        action="store_true",
        help="PostgreSQL through Django's connection pool instead of persistent connections",
    )
    args = parser.parse_args(argv)
    # Stopped from outside: leave through the servers' context managers, which stop them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    args.workers = [int(w) for w in args.workers.split(",")]
    if args.smoke:
        args.rounds, args.duration, args.workers, args.scale = 1, 1.0, [1], False
        # Validity only: a hundred tokens seed in no time, and one second goes round them.
        if args.bearer_tokens == BEARER_TOKENS:
            args.bearer_tokens = SMOKE_BEARER_TOKENS
        if args.port == PORT:
            args.port = SMOKE_PORT
    load = Load(connections=args.connections, threads=args.threads, duration=args.duration)
    args.profile = tuple(k for k in args.profile.split(",") if k)
    if args.profile and not (Path(sys.executable).parent / "py-spy").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return peer_main(args, load) if args.peer else bench_main(args, load)


if __name__ == "__main__":
    sys.exit(main())
