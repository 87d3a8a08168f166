"""
The example CLI (``example_project/cli.py``) against the example site in a real server process:
it registers, signs in by the device grant (RFC 8628) while a person approves in a browser
session over HTTP, keeps its tokens in a file only its owner can read, lists the companies,
refreshes an expired token, and signs out. Its waits between polls are replaced, so nothing
sleeps: the person approves while the CLI would be waiting.
"""

from __future__ import annotations

import io
import json
import re
import stat

import pytest

from example_project import cli
from tests.live import Browser, call, prepare, serve

pytestmark = pytest.mark.live

USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")
COMPANIES = ["Airbnb", "Figma", "Notion", "Qonto", "Stripe"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    database = tmp_path_factory.mktemp("site") / "db.sqlite3"
    prepare(database)
    with serve(database) as base:
        yield base


class Person:
    """Approves (or denies) the code the CLI printed, the first time the CLI waits ``approve_on`` times."""

    def __init__(self, base: str, output: io.StringIO, *, allow: bool = True, approve_on: int = 1) -> None:
        self.browser = Browser(base)
        self.browser.login()
        self.output = output
        self.allow = allow
        self.approve_on = approve_on
        self.waits: list[int] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) == self.approve_on:
            code = USER_CODE.search(self.output.getvalue()).group(0)
            page = self.browser.decide_device(code, allow=self.allow)
            assert (b"Device connected" if self.allow else b"Access denied") in page


def run(*args: str) -> tuple[int, str]:
    output = io.StringIO()
    return cli.main(list(args), out=output), output.getvalue()


def login(site, credentials, monkeypatch, **person) -> tuple[int, str, Person]:
    output = io.StringIO()
    approver = Person(site, output, **person)
    monkeypatch.setattr(cli, "sleep", approver)
    status = cli.main(["login", "--server", site, "--credentials", str(credentials)], out=output)
    return status, output.getvalue(), approver


def names(listing: str) -> list[str]:
    return [line.split()[0] for line in listing.splitlines()[1:]]


def test_login_keeps_tokens_for_the_owner_only_and_lists_companies(site, tmp_path, monkeypatch):
    credentials = tmp_path / "config" / "credentials.json"
    status, printed, approver = login(site, credentials, monkeypatch)
    assert status == 0, printed
    code = USER_CODE.search(printed).group(0)
    assert f"open {site}/oauth/device and enter the code" in printed
    assert f"{site}/oauth/device?user_code={code}" in printed
    assert "Signed in." in printed
    assert approver.waits == [5]  # the interval the server gave, then one poll that got the tokens

    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700
    session = json.loads(credentials.read_text())
    assert session["server"] == site and session["scope"] == "api"
    assert session["access_token"].count(".") == 2 and session["refresh_token"]

    status, listing = run("companies", "--credentials", str(credentials))
    assert status == 0, listing
    assert names(listing) == COMPANIES

    # A second login on the same server keeps the client it registered.
    client_id = session["client_id"]
    status, printed, _ = login(site, credentials, monkeypatch)
    assert status == 0, printed
    assert json.loads(credentials.read_text())["client_id"] == client_id


def test_an_expired_access_token_is_refreshed_and_the_new_refresh_token_kept(site, tmp_path, monkeypatch):
    credentials = tmp_path / "credentials.json"
    assert login(site, credentials, monkeypatch)[0] == 0
    before = json.loads(credentials.read_text())
    monkeypatch.setattr(cli, "clock", lambda: before["expires_at"] + 1)
    status, listing = run("companies", "--credentials", str(credentials))
    assert status == 0, listing
    assert names(listing) == COMPANIES
    after = json.loads(credentials.read_text())
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated (RFC 9700 §4.14.2)
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    # The spent refresh token no longer works.
    status, _, body = call(
        site,
        "POST",
        "/oauth/token",
        form={
            "grant_type": "refresh_token",
            "refresh_token": before["refresh_token"],
            "client_id": before["client_id"],
        },
    )
    assert (status, json.loads(body)["error"]) == (400, "invalid_grant")


def test_slow_down_makes_the_cli_wait_longer(site, tmp_path, monkeypatch):
    """RFC 8628 §3.5: polled at once (the waits are skipped), the server says slow_down: +5 s."""
    credentials = tmp_path / "credentials.json"
    status, printed, approver = login(site, credentials, monkeypatch, approve_on=3)
    assert status == 0, printed
    assert approver.waits == [5, 5, 10]


def test_a_denied_request_signs_nothing_in(site, tmp_path, monkeypatch, capsys):
    credentials = tmp_path / "credentials.json"
    status, printed, _ = login(site, credentials, monkeypatch, allow=False)
    assert status == 1
    assert "The request was denied in the browser." in capsys.readouterr().err
    assert not credentials.exists()


def test_a_credentials_file_others_can_read_is_refused(site, tmp_path, monkeypatch, capsys):
    credentials = tmp_path / "credentials.json"
    assert login(site, credentials, monkeypatch)[0] == 0
    credentials.chmod(0o644)
    status, listing = run("companies", "--credentials", str(credentials))
    assert status == 1 and listing == ""
    assert "can be read by others" in capsys.readouterr().err


def test_logout_revokes_the_grant(site, tmp_path, monkeypatch):
    credentials = tmp_path / "credentials.json"
    assert login(site, credentials, monkeypatch)[0] == 0
    session = json.loads(credentials.read_text())
    status, printed = run("logout", "--credentials", str(credentials))
    assert (status, printed.strip()) == (0, "Signed out.")
    assert not credentials.exists()
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert call(site, "GET", "/rest/companies", headers=bearer)[0] == 401
    status, _ = run("companies", "--credentials", str(credentials))
    assert status == 1


def test_only_https_or_loopback_servers(tmp_path, capsys):
    status, _ = run("login", "--server", "http://crm.example.com", "--credentials", str(tmp_path / "c.json"))
    assert status == 1
    assert "use https" in capsys.readouterr().err
