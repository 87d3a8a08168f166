"""
The live site every interop test talks to, and the person who approves the consent page.

One example site (interop/server.py) runs for the whole session on 127.0.0.1:18400; a second
server, on a free port of 127.0.0.1, serves client ID metadata documents over TLS, signed by a CA
made for the run that the site is told to trust.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from interop.documents import DocumentServer, make_certificates
from interop.forms import form_fields
from interop.server import Site

CLIENT_PACKAGES = (
    "mcp",
    "authlib",
    "requests-oauthlib",
    "oauthlib",
    "requests",
    "httpx2",
    "mozilla-django-oidc",
)
SITE_PORT = int(os.environ.get("INTEROP_PORT", "18400"))
USERNAME, PASSWORD = "demo", "demo-password"


def pytest_report_header(config) -> str:
    """The versions of the clients under test, as installed for this run (README: "Tested clients")."""
    return "clients: " + ", ".join(f"{name} {version(name)}" for name in CLIENT_PACKAGES)


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """A CA, and a certificate it signed for 127.0.0.1 and localhost."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def site(tls):
    with Site(SITE_PORT, ca_file=str(tls.ca_file)) as running:
        yield running
        if os.environ.get("INTEROP_SHOW_LOG"):
            sys.stderr.write(running.log())


@pytest.fixture(scope="session")
def documents(tls):
    """Serves client ID metadata documents at https://127.0.0.1:<free port>/<name>."""
    with DocumentServer(0, tls) as server:
        yield server


@pytest.fixture
def base_url(site) -> str:
    return site.base_url


class Person:
    """
    The demo user at a browser: signs in through the login form, reads the consent page and
    presses Allow or Deny. Returns the redirect the site answers with, never following it: the
    client's redirect URI is not served, and its query is what the client would read.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.signed_in = False
        self.last_consent_page = ""

    def sign_in(self) -> None:
        login = self.base_url + "/accounts/login/"
        page = self.http.get(login, timeout=10)
        assert page.status_code == 200, page.text
        fields = form_fields(page.text)
        response = self.http.post(
            login,
            data={
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
                "username": USERNAME,
                "password": PASSWORD,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text
        self.signed_in = True

    def consent_page(self, authorize_url: str) -> requests.Response:
        assert authorize_url.startswith(self.base_url + "/"), authorize_url
        if not self.signed_in:
            self.sign_in()
        page = self.http.get(authorize_url, allow_redirects=False, timeout=30)
        self.last_consent_page = page.text
        return page

    def decide(self, authorize_url: str, *, allow: bool = True) -> str:
        """Open the authorization URL, press Allow (or Deny); the Location the site redirects to."""
        page = self.consent_page(authorize_url)
        assert page.status_code == 200, (page.status_code, page.text[:2000])
        fields = form_fields(page.text)
        decision = {"allow": "1"} if allow else {"deny": "1"}
        response = self.http.post(
            urljoin(self.base_url, "/oauth/authorize"),
            data={
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
                "request": fields["request"],
                **decision,
            },
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, (response.status_code, response.text[:2000])
        return response.headers["Location"]


@pytest.fixture
def person(base_url) -> Person:
    return Person(base_url)


CREATE_CLIENT = """
import json, os
from twenty_oauth.protocol.client_information import ClientInformationSerializer
from twenty_oauth.protocol.client_metadata import validate_metadata
from twenty_oauth.protocol.clients import create_client
client, secret = create_client(validate_metadata(json.loads(os.environ["CLIENT_METADATA"])), source="admin")
print(json.dumps(ClientInformationSerializer(client, context={"secret": secret}).data))
"""


def admin_client(site, **metadata) -> dict:
    """A client made by the site's administrator (so it may use client credentials); its information."""
    output = site.manage("shell", "-c", CREATE_CLIENT, env={"CLIENT_METADATA": json.dumps(metadata)})
    return json.loads(output.strip().splitlines()[-1])


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def get_json(url: str, **kwargs) -> dict:
    response = requests.get(url, timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return json.loads(response.text)
