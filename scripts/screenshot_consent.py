#!/usr/bin/env python
"""
Screenshots of the consent page and the authorized-applications page, for the README.

Starts the example site on a throw-away SQLite database, signs in as the demo user in headless
Chromium, registers a client through ``/oauth/register``, opens its consent page and saves
``docs/consent.png``; then approves it and saves ``docs/apps.png``. The browser may reach
127.0.0.1 only: every other request is aborted, the client's redirect included.

Needs Playwright's Python package (its driver ships with it) and a Chromium::

    pip install playwright          # no "playwright install": the system Chromium is used
    apt-get install chromium
    python scripts/screenshot_consent.py [--port 18300] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 - this interpreter and the repository's manage.py
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a loopback URL built here
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def register_client(base: str) -> dict:
    metadata = {
        "client_name": "Acme Notes",
        "client_uri": "https://notes.acme.example/",
        "redirect_uris": ["https://notes.acme.example/oauth/callback"],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none",
        "scope": "api profile",
    }
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
        f"{base}/oauth/register",
        data=json.dumps(metadata).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def authorize_url(base: str, client: dict, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "client_id": client["client_id"],
            "response_type": "code",
            "redirect_uri": client["redirect_uris"][0],
            "scope": "api profile",
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{base}/oauth/authorize?{query}"


def redeem(base: str, client: dict, callback: str, verifier: str) -> None:
    """Exchange the code as the client would, so that the apps page has a last use to show."""
    code = parse_qs(urlsplit(callback).query)["code"][0]
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client["redirect_uris"][0],
            "client_id": client["client_id"],
            "code_verifier": verifier,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
        f"{base}/oauth/token", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        json.load(response)


def shoot(base: str, chromium: str, out: Path, scheme: str = "light", width: int = 560) -> None:
    from playwright.sync_api import sync_playwright

    client = register_client(base)
    callbacks: list[str] = []
    local = urlsplit(base).netloc

    def only_loopback(route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == local:
            route.continue_()
        elif url.startswith(client["redirect_uris"][0]):
            callbacks.append(url)  # answered here: the client's site is never contacted
            route.fulfill(status=200, content_type="text/html", body="<h1>Back at Acme Notes</h1>")
        else:
            route.abort()

    verifier = secrets.token_urlsafe(48)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": width, "height": 720}, device_scale_factor=2, color_scheme=scheme
        )
        context.route("**/*", only_loopback)
        page = context.new_page()
        authorize = authorize_url(base, client, verifier)
        page.goto(f"{base}/accounts/login/?{urlencode({'next': authorize[len(base) :]})}")
        page.get_by_label("Username").fill("demo")
        page.get_by_label("Password").fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Acme Notes wants to access your account").wait_for()
        page.locator(".page").screenshot(path=str(out / "consent.png"))

        page.get_by_role("button", name="Allow").click()
        page.get_by_role("heading", name="Back at Acme Notes").wait_for()
        redeem(base, client, callbacks[0], verifier)
        page.set_viewport_size({"width": width + 80, "height": 560})
        page.goto(f"{base}/oauth/apps")
        page.get_by_role("heading", name="Authorized applications").wait_for()
        page.locator(".page").screenshot(path=str(out / "apps.png"))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=18300)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--color-scheme", choices=["light", "dark"], default="light")
    parser.add_argument("--width", type=int, default=560, help="viewport width in CSS pixels")
    options = parser.parse_args()
    base = f"http://127.0.0.1:{options.port}"
    options.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "SQLITE_PATH": str(Path(tmp) / "db.sqlite3"),
            "TWENTY_DB": "sqlite",
            "DJANGO_DEBUG": "0",
            "TWENTY_OAUTH_LOG_LEVEL": "WARNING",
        }
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "demo_user")
        server = subprocess.Popen(  # noqa: S603 - this interpreter and the repository's manage.py
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{options.port}",
                "--noreload",
                "--insecure",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"{base}/.well-known/oauth-authorization-server")
            shoot(base, options.chromium, options.out, options.color_scheme, options.width)
        finally:
            server.terminate()
            server.wait(timeout=10)
    for name in ("consent.png", "apps.png"):
        path = options.out / name
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
