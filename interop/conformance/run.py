"""
The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``) against a fresh
example site: its ``authorization`` command against the authorization server, its ``server``
command against the MCP server at ``/mcp``. ``make test-interop-conformance`` runs it after
``npm ci`` in this folder; see interop/README.md for what runs and what does not apply.

    .venv/bin/python -m interop.conformance.run

``INTEROP_CONFORMANCE_PORT`` (default 18600) is the site's port on 127.0.0.1; the next port is the
token proxy's, the one after the suite's OAuth callback. Each run's checks are saved in
``interop/artifacts/conformance/``. Exits non-zero when a scenario fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from interop.conftest import Person, admin_client
from interop.server import Site

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / ".bin" / "node"
SUITE = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
BASELINE = HERE / "expected-failures.yml"
RESULTS = HERE.parent / "artifacts" / "conformance"
PORT = int(os.environ.get("INTEROP_CONFORMANCE_PORT", "18600"))

# The server scenarios that apply to the example's MCP server (one tool, stateless, JSON answers),
# each at every revision it belongs to among those with a requirement set (2025-11-25, the
# initialize handshake; 2026-07-28, stateless with per-request _meta). interop/README.md lists
# the others and why they do not apply.
SERVER_SCENARIOS = [
    ("server-initialize", "2025-11-25"),
    ("ping", "2025-11-25"),
    ("tools-list", "2025-11-25"),
    ("tools-list", "2026-07-28"),
    ("dns-rebinding-protection", "2025-11-25"),
    ("dns-rebinding-protection", "2026-07-28"),
    ("server-stateless", "2026-07-28"),
    ("caching", "2026-07-28"),
    ("http-header-validation", "2026-07-28"),
    ("input-required-result-unsupported-methods", "2026-07-28"),
]


class Failed(Exception):
    pass


def suite(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - the pinned suite, our own arguments
        [str(NODE), str(SUITE), *args], cwd=HERE, text=True, **kwargs
    )


def checks_of(directory: Path) -> list[dict]:
    """The checks a run saved with ``-o directory``."""
    return [
        check for path in sorted(directory.glob("*/checks.json")) for check in json.loads(path.read_text())
    ]


def warnings_in(directory: Path) -> list[str]:
    """Checks that passed with a warning (a SHOULD not met): reported, never a failure."""
    return [
        f"{check['id']}: {check.get('errorMessage') or check['description']}"
        for check in checks_of(directory)
        if check["status"] == "WARNING"
    ]


def mcp_token(site: Site) -> str:
    """An access token for /mcp, as a service holding client credentials gets one (RFC 6749 §4.4)."""
    client = admin_client(
        site,
        client_name="MCP conformance suite",
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
        scope="api",
    )
    response = requests.post(
        f"{site.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "api", "resource": f"{site.base_url}/mcp"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    if response.status_code != 200:
        raise Failed(f"client credentials refused: {response.status_code} {response.text}")
    return response.json()["access_token"]


def authorization(site: Site) -> None:
    """
    The ``authorization`` command: the server metadata, then an authorization code grant with
    PKCE and ``resource`` by a public client, which the demo user approves on the consent page.
    """
    callback = PORT + 2
    client = admin_client(
        site,
        client_name="MCP conformance suite (authorization)",
        redirect_uris=[f"http://127.0.0.1:{callback}/callback"],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="none",
        scope="api",
    )
    output = RESULTS / "authorization"
    started = time.monotonic()
    process = suite(
        "authorization",
        "--url", site.base_url,
        "--client-id", client["client_id"],
        "--resource", f"{site.base_url}/mcp",
        "--port", str(callback),
        "-o", str(output),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    # The suite waits five minutes for a callback that may never come: not that long.
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith(f"{site.base_url}/oauth/authorize?"):
                # The suite prints the URL for a person to open: the demo user approves, and the
                # browser follows the redirect to the suite's callback.
                location = Person(site.base_url).decide(line.strip())
                requests.get(location, timeout=10)
        process.wait(timeout=60)
    except AssertionError as exc:
        raise Failed(f"authorization: the consent page: {exc}\n" + "".join(lines)) from exc
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    grant = [c for c in checks_of(output) if c["id"] == "authorization-code-grant"]
    if process.returncode != 0 or [c["status"] for c in grant] != ["SUCCESS"]:
        raise Failed("authorization: " + "".join(lines))
    print(f"ok   authorization ({time.monotonic() - started:.1f} s)", flush=True)
    for warning in warnings_in(output):
        print(f"     warning: {warning}")


def server(site: Site) -> None:
    """
    The ``server`` command, scenario by scenario. The suite speaks to an MCP server that needs no
    authorization, and /mcp requires a token: ``proxy.mjs`` adds one to each request, and passes
    everything else (Host and Origin included) through unchanged.
    """
    proxy = subprocess.Popen(  # noqa: S603 - our own proxy
        [str(NODE), str(HERE / "proxy.mjs"), str(PORT + 1), str(PORT)],
        env={**os.environ, "MCP_ACCESS_TOKEN": mcp_token(site)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = proxy.stdout.readline()
        if not ready.startswith("PROXY "):
            raise Failed("the token proxy did not start")
        url = f"http://127.0.0.1:{PORT + 1}/mcp"
        # A few at a time: most of each run is the suite's own start.
        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = list(pool.map(lambda args: server_scenario(url, *args), SERVER_SCENARIOS))
        failed = [name for name, passed in runs if not passed]
        if failed:
            raise Failed("server scenarios failed: " + ", ".join(failed))
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def server_scenario(url: str, scenario: str, revision: str) -> tuple[str, bool]:
    output = RESULTS / f"server-{scenario}-{revision}"
    started = time.monotonic()
    run = suite(
        "server",
        "--url", url,
        "--scenario", scenario,
        "--spec-version", revision,
        "--expected-failures", str(BASELINE),
        "-o", str(output),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    text, _ = run.communicate(timeout=120)
    name = f"{scenario} at {revision}"
    # A scenario not applicable at the revision asked for is skipped with exit status 0.
    if run.returncode != 0 or "SKIPPED: scenario" in text:
        print(f"FAIL {name}\n{text}", flush=True)
        return name, False
    report = [f"ok   {name} ({time.monotonic() - started:.1f} s)"]
    report += [f"     warning: {warning}" for warning in warnings_in(output)]
    print("\n".join(report), flush=True)
    return name, True


def main() -> int:
    if not NODE.exists() or not SUITE.exists():
        print("interop/conformance: run `npm ci` in interop/conformance first", file=sys.stderr)
        return 1
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True)
    version = json.loads((SUITE.parent.parent / "package.json").read_text())["version"]
    node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    print(f"@modelcontextprotocol/conformance {version} on node {node.strip()}", flush=True)
    started = time.monotonic()
    try:
        with Site(PORT) as site:
            print(f"site {site.base_url} ready in {time.monotonic() - started:.1f} s", flush=True)
            authorization(site)
            server(site)
    except Failed as exc:
        print(f"interop/conformance: {exc}", file=sys.stderr)
        return 1
    print(f"conformance: every applicable scenario passed ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
