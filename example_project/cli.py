"""
A command-line client of the example site that signs in with the device authorization grant
(RFC 8628), the way a CLI on a server or a TV-like device does: it shows a short code, you
approve it in a browser on any other screen, and it polls until you have.

    python example_project/cli.py login          # register if needed, show the code, wait
    python example_project/cli.py companies      # list /rest/companies, refreshing when needed
    python example_project/cli.py logout         # revoke the grant and forget the tokens

Only the standard library: it is a client, not part of the site. It finds every endpoint in
the server's metadata (RFC 8414), registers itself once as a public client (RFC 7591, no
secret), and keeps its client ID, access token and refresh token in a JSON file that only you
can read (mode 0600, in a directory of mode 0700; it refuses a file others can read, as ssh
does). ``--server`` (or ``TWENTY_CLI_SERVER``) names the site, ``--credentials`` (or
``TWENTY_CLI_CREDENTIALS``) the file; by default ``$XDG_CONFIG_HOME/twenty-example/credentials.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_SERVER = "http://127.0.0.1:8000"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_NAME = "Example CRM command line"
SCOPE = "api"
#: Refresh this many seconds before the access token's expiry, not after a refused call.
EXPIRY_MARGIN = 30
#: RFC 8628 §3.5: what slow_down adds to the interval.
SLOW_DOWN_SECONDS = 5

# Replaced by the tests, which approve the code while the CLI "waits".
sleep = time.sleep
clock = time.time


class CliError(Exception):
    """A failure to tell the person about, in one line; the command exits with status 1."""


# --- HTTP ---------------------------------------------------------------------------------------


def request(method: str, url: str, *, form: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    """One HTTP request; the status and the JSON body (or {} when there is none)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    outgoing = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as response:  # noqa: S310 - https or loopback
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except urllib.error.URLError as error:
        raise CliError(f"Cannot reach {url}: {error.reason}") from error
    try:
        return status, json.loads(raw or b"{}")
    except ValueError as error:
        raise CliError(f"{url} answered {status} with something that is not JSON.") from error


def register(metadata: dict) -> str:
    """RFC 7591: a public client (no secret) for the device grant and refresh tokens."""
    endpoint = metadata.get("registration_endpoint")
    if not endpoint:
        raise CliError("The server has no registration endpoint: ask its administrator for a client ID.")
    body = json.dumps(
        {
            "client_name": CLIENT_NAME,
            "grant_types": [DEVICE_CODE, "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": SCOPE,
        }
    ).encode()
    outgoing = urllib.request.Request(  # noqa: S310
        endpoint, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())["client_id"]
    except urllib.error.HTTPError as error:
        raise CliError(f"Registration refused: {error_text(json.loads(error.read() or b'{}'))}") from error


def error_text(body: dict) -> str:
    return (
        " ".join(part for part in (body.get("error"), body.get("error_description")) if part)
        or "no reason given"
    )


# --- the server ---------------------------------------------------------------------------------


def check_server(server: str) -> str:
    """The server URL without a trailing slash; https, or plain http only on this machine."""
    parts = urllib.parse.urlsplit(server)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise CliError(f"{server}: use https (plain http only for 127.0.0.1 or localhost).")
    return server.rstrip("/")


def discover(server: str) -> dict:
    """RFC 8414 §3: the metadata of the issuer ``server``, which must name itself as such."""
    parts = urllib.parse.urlsplit(server)
    path = "/.well-known/oauth-authorization-server" + parts.path.rstrip("/")
    status, metadata = request("GET", urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")))
    if status != 200:
        raise CliError(f"{server} publishes no OAuth server metadata (HTTP {status}).")
    if metadata.get("issuer") != server:  # RFC 8414 §3.3
        raise CliError(f"The metadata names the issuer {metadata.get('issuer')!r}, not {server!r}.")
    if DEVICE_CODE not in metadata.get("grant_types_supported", []):
        raise CliError(f"{server} does not offer the device authorization grant.")
    return metadata


# --- the credentials file -----------------------------------------------------------------------


def default_credentials() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "twenty-example" / "credentials.json"


def load(path: Path) -> dict:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CliError(f"{path} can be read by others: its tokens may have leaked. Run: chmod 600 {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, data: dict) -> None:
    """Write ``data`` where only its owner can read it, replacing the file in one step."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
    )
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    os.replace(temporary, path)


def keep_tokens(session: dict, tokens: dict) -> dict:
    """The session with a token response's tokens; a refresh rotates the refresh token."""
    session = dict(session)
    session["access_token"] = tokens["access_token"]
    session["expires_at"] = int(clock()) + int(tokens.get("expires_in", 0))
    session["refresh_token"] = tokens.get("refresh_token") or session.get("refresh_token")
    session["scope"] = tokens.get("scope", session.get("scope", ""))
    return session


# --- the commands -------------------------------------------------------------------------------


def login(server: str, path: Path, out) -> None:
    """RFC 8628 §3.1-§3.5: ask for codes, show them, poll until the person decides."""
    metadata = discover(server)
    stored = load(path)
    client_id = stored.get("client_id") if stored.get("server") == server else None
    client_id = client_id or register(metadata)
    status, started = request(
        "POST", metadata["device_authorization_endpoint"], form={"client_id": client_id, "scope": SCOPE}
    )
    if status != 200:
        raise CliError(f"The server refused to start: {error_text(started)}")
    print(f"To sign in, open {started['verification_uri']} and enter the code\n", file=out)
    print(f"    {started['user_code']}\n", file=out)
    if started.get("verification_uri_complete"):
        print(f"or open {started['verification_uri_complete']} and confirm it.", file=out)
    print("Waiting for you to approve...", file=out, flush=True)
    tokens = poll(metadata["token_endpoint"], client_id, started)
    save(path, keep_tokens({"server": server, "client_id": client_id}, tokens))
    print(f"Signed in. Tokens saved to {path} (readable by you only).", file=out)


def poll(token_endpoint: str, client_id: str, started: dict) -> dict:
    """Poll the token endpoint every ``interval`` seconds, slower when told to (§3.5)."""
    interval = int(started.get("interval", 5))
    deadline = clock() + int(started["expires_in"])
    form = {"grant_type": DEVICE_CODE, "device_code": started["device_code"], "client_id": client_id}
    while clock() < deadline:
        sleep(interval)
        status, body = request("POST", token_endpoint, form=form)
        if status == 200:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
            continue
        if error == "access_denied":
            raise CliError("The request was denied in the browser.")
        if error == "expired_token":
            break
        raise CliError(f"The server refused: {error_text(body)}")
    raise CliError("The code expired before it was approved. Run login again.")


def refreshed(session: dict, metadata: dict, path: Path) -> dict:
    """RFC 6749 §6: new tokens for the stored refresh token, saved before they are used."""
    if not session.get("refresh_token"):
        raise CliError("Your access token has expired and there is no refresh token. Run login again.")
    status, body = request(
        "POST",
        metadata["token_endpoint"],
        form={
            "grant_type": "refresh_token",
            "refresh_token": session["refresh_token"],
            "client_id": session["client_id"],
        },
    )
    if status != 200:
        raise CliError(f"Your session has ended ({error_text(body)}). Run login again.")
    session = keep_tokens(session, body)
    save(path, session)
    return session


def companies(path: Path, out) -> None:
    """``GET /rest/companies`` with the stored token, refreshed first when it has expired."""
    session = load(path)
    if not session.get("access_token"):
        raise CliError(f"Not signed in (no tokens in {path}). Run login first.")
    server = session["server"]
    metadata = discover(server)
    if session.get("expires_at", 0) - EXPIRY_MARGIN <= clock():
        session = refreshed(session, metadata, path)
    status, body = request("GET", f"{server}/rest/companies", token=session["access_token"])
    if status == 401:  # revoked, or a clock that disagrees with the server's: try once more
        session = refreshed(session, metadata, path)
        status, body = request("GET", f"{server}/rest/companies", token=session["access_token"])
    if status != 200:
        raise CliError(f"/rest/companies answered {status}.")
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    print(f"{'Name':<12} {'Domain':<16} {'Employees':>9}  City", file=out)
    for company in rows:
        line = (
            f"{company['name']:<12} {company['domain_name']:<16} {company['employees']:>9}  {company['city']}"
        )
        print(line, file=out)


def logout(path: Path, out) -> None:
    """RFC 7009: revoke the refresh token (and with it the grant), then forget the tokens."""
    session = load(path)
    if session.get("refresh_token"):
        metadata = discover(session["server"])
        endpoint = metadata.get("revocation_endpoint")
        if endpoint:
            request(
                "POST",
                endpoint,
                form={
                    "token": session["refresh_token"],
                    "token_type_hint": "refresh_token",
                    "client_id": session["client_id"],
                },
            )
    path.unlink(missing_ok=True)
    print("Signed out.", file=out)


def main(argv: list[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description="The example CRM from the command line (RFC 8628 sign-in).")
    parser.add_argument("command", choices=["login", "companies", "logout"])
    parser.add_argument(
        "--server", default=os.environ.get("TWENTY_CLI_SERVER", DEFAULT_SERVER), help="the site's issuer URL"
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        default=os.environ.get("TWENTY_CLI_CREDENTIALS") or default_credentials(),
        help="where the tokens are kept",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "login":
            login(check_server(args.server), Path(args.credentials), out)
        elif args.command == "companies":
            companies(Path(args.credentials), out)
        else:
            logout(Path(args.credentials), out)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
