"""
A second, real Django site signs its users in with ``mozilla-django-oidc`` (PyPI) against the
example site: a person starts at the relying party, signs in through the example's login and
consent pages, and comes back signed in to the relying party as the same person. Then the
relying party signs them out at the example too (RP-Initiated Logout 1.0).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from interop.conftest import SITE_PORT, query_of

ROOT = Path(__file__).resolve().parent.parent
RP_PORT = SITE_PORT + 7


@pytest.fixture(scope="module")
def relying_party(site):
    """The relying party's site, registered at the example site, on 127.0.0.1:RP_PORT."""
    base = f"http://127.0.0.1:{RP_PORT}"
    registered = requests.post(
        site.base_url + "/oauth/register",
        json={
            "client_name": "Relying party (mozilla-django-oidc)",
            "redirect_uris": [f"{base}/oidc/callback/"],
            "post_logout_redirect_uris": [f"{base}/whoami"],
            "token_endpoint_auth_method": "client_secret_post",
            "scope": "openid email profile",
        },
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    client = registered.json()
    with tempfile.TemporaryDirectory() as workdir:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            DJANGO_SETTINGS_MODULE="interop.relying_party.settings",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
            RP_PROVIDER=site.base_url,
            RP_CLIENT_ID=client["client_id"],
            RP_CLIENT_SECRET=client["client_secret"],
            RP_DATABASE=str(Path(workdir) / "rp.sqlite3"),
        )
        django = [sys.executable, "-m", "django"]
        subprocess.run([*django, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
        with open(Path(workdir) / "rp.log", "wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own test site
                [*django, "runserver", "--noreload", f"127.0.0.1:{RP_PORT}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_for(base + "/whoami", server)
                yield base
            finally:
                server.terminate()
                server.wait(10)


def _wait_for(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("The relying party's server stopped.")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # waiting for another process to listen, not for the code under test
    raise RuntimeError("The relying party's server did not come up.")


def test_a_person_signs_in_to_the_second_site_through_the_example(relying_party, person, base_url):
    browser = requests.Session()  # the person's browser at the relying party
    assert browser.get(relying_party + "/whoami", timeout=10).json() == {"signed_in": False}

    start = browser.get(relying_party + "/oidc/authenticate/", allow_redirects=False, timeout=10)
    assert start.status_code == 302
    authorize_url = start.headers["Location"]
    assert authorize_url.startswith(base_url + "/oauth/authorize?")
    sent = query_of(authorize_url)
    assert "openid" in sent["scope"].split() and sent["nonce"] and sent["code_challenge"]

    # The example's own login page and consent page, as the person sees them.
    callback = person.decide(authorize_url)
    assert urlsplit(callback).path == "/oidc/callback/"
    assert query_of(callback)["state"] == sent["state"]

    done = browser.get(callback, allow_redirects=False, timeout=30)
    assert done.status_code == 302, done.text
    assert done.headers["Location"].endswith("/whoami")
    me = browser.get(relying_party + "/whoami", timeout=10).json()
    assert me == {"signed_in": True, "username": "demo", "email": "demo@example.com"}

    # RP-Initiated Logout: the relying party signs out, then sends the person to the example's
    # end_session_endpoint with the ID token as hint; the example signs them out and sends them back.
    out = browser.get(relying_party + "/oidc/logout/", allow_redirects=False, timeout=10)
    assert out.status_code == 302
    end_session = out.headers["Location"]
    assert end_session.startswith(base_url + "/oauth/logout?")
    back = person.http.get(end_session, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    assert back.headers["Location"] == f"{relying_party}/whoami?state=rp-logout"
    assert browser.get(relying_party + "/whoami", timeout=10).json() == {"signed_in": False}
    # Signed out at the example too: its authorization endpoint asks to sign in again.
    again = person.http.get(authorize_url, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and "/accounts/login/" in again.headers["Location"]
