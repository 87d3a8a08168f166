"""Run the example site in real server processes, and speak to it as a client over HTTP."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_env(database: Path, issuer: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TWENTY_DB")}
    env.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        SQLITE_PATH=str(database),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="tests-only-not-secret",
        PYTHONPATH=str(ROOT),
        TWENTY_OAUTH_LOG_LEVEL="WARNING",
        TWENTY_OAUTH_ISSUER=issuer,
    )
    return env


def prepare(database: Path) -> None:
    env = site_env(database)
    for command in (["migrate", "--verbosity", "0"], ["demo_user"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )


@contextlib.contextmanager
def running(command: list[str], cwd: Path, env: dict[str, str], ready_url: str, log: Path | None = None):
    """
    A server process, stopped on exit; ready once ``ready_url`` answers 2xx. Its output goes to
    ``log`` when one is given, else nowhere.
    """
    with open(log or os.devnull, "w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(ready_url, timeout=2).close()
                    break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError(f"the server did not start; its output: {log}") from None
                    time.sleep(0.2)
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def serve(database: Path, port: int | None = None, issuer: str = ""):
    """One server process on a free port; yields its base URL."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"]
    with running(command, ROOT, site_env(database, issuer), f"{base}/.well-known/oauth-authorization-server"):
        yield base


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A user agent with cookies that does not follow redirects: what a person's browser sends."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def login(self, username: str = "demo", password: str = "demo-password") -> None:
        self.request("GET", "/accounts/login/")
        status, headers, _ = self.request(
            "POST",
            "/accounts/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf()},
            {"Referer": self.base + "/accounts/login/"},
        )
        assert status == 302, "login failed"

    def approve(self, authorize_query: str, endpoint: str = "/oauth/authorize") -> dict[str, str]:
        """Load the consent page at ``endpoint``, allow, and return the redirect's parameters."""
        status, _, page = self.request("GET", f"{endpoint}?{authorize_query}")
        assert status == 200, page
        signed = re.search(rb'name="request" value="([^"]+)"', page).group(1).decode()
        status, headers, _ = self.request(
            "POST",
            endpoint,
            {"request": signed, "allow": "1", "csrfmiddlewaretoken": self.csrf()},
            {"Referer": self.base + endpoint},
        )
        assert status == 302
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))

    def decide_device(self, user_code: str, *, allow: bool = True) -> bytes:
        """
        Open the device page from ``verification_uri_complete`` (RFC 8628 §3.3.1), confirm the
        code it filled in, then allow or deny; returns the last page.
        """
        query = urllib.parse.urlencode({"user_code": user_code})
        status, _, page = self.request("GET", f"/oauth/device?{query}")
        assert status == 200, page
        assert f'value="{user_code}"'.encode() in page
        referer = {"Referer": self.base + "/oauth/device"}
        status, _, page = self.request(
            "POST", "/oauth/device", {"user_code": user_code, "csrfmiddlewaretoken": self.csrf()}, referer
        )
        assert status == 200, page
        signed = re.search(rb'name="grant" value="([^"]+)"', page).group(1).decode()
        decision = {"grant": signed, "allow" if allow else "deny": "1", "csrfmiddlewaretoken": self.csrf()}
        status, _, page = self.request("POST", "/oauth/device", decision, referer)
        assert status == 200, page
        return page


def call(
    base: str,
    method: str,
    path: str,
    *,
    form: dict | None = None,
    json_body: dict | None = None,
    headers: dict | None = None,
):
    headers = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
