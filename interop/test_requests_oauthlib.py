"""
requests-oauthlib (PyPI ``requests-oauthlib``, on oauthlib) against the live site: registration
(RFC 7591, posted as JSON: the library has none), authorization with PKCE approved on the
consent page, token, a protected call, refresh and revocation (posted by hand: the library has
no revocation call), for a confidential client and a public one; the library's default token
request for a client with no secret (HTTP Basic with an empty password); and client credentials
through ``BackendApplicationClient``.

oauthlib refuses plain http unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set; the site here is on
127.0.0.1, which RFC 8252 §8.3 allows for loopback, so the tests set it.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient, InvalidClientError, InvalidGrantError
from requests_oauthlib import OAuth2Session

from interop.conftest import admin_client, query_of

REDIRECT_URI = "http://127.0.0.1:18498/callback"


@pytest.fixture(autouse=True)
def loopback_http(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def metadata(base_url) -> dict:
    response = requests.get(base_url + "/.well-known/oauth-authorization-server", timeout=10)
    assert response.status_code == 200
    return response.json()


def register(metadata: dict, auth_method: str) -> dict:
    response = requests.post(
        metadata["registration_endpoint"],
        json={
            "client_name": f"requests-oauthlib {auth_method}",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": auth_method,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "none"])
def test_authorization_code_journey(base_url, person, metadata, auth_method):
    registered = register(metadata, auth_method)
    # The contract registers only authorization_code; the answer says refresh_token too.
    assert "refresh_token" in registered["grant_types"]
    client_id, secret = registered["client_id"], registered.get("client_secret")
    session = OAuth2Session(client_id, redirect_uri=REDIRECT_URI, scope=["api"], pkce="S256")
    url, state = session.authorization_url(metadata["authorization_endpoint"])
    assert "code_challenge=" in url

    location = person.decide(url)
    assert query_of(location)["iss"] == metadata["issuer"]
    if secret:
        # client_secret_basic: requests-oauthlib sends HTTP Basic with the id and secret.
        token = session.fetch_token(
            metadata["token_endpoint"], authorization_response=location, client_secret=secret
        )
    else:
        token = session.fetch_token(
            metadata["token_endpoint"], authorization_response=location, include_client_id=True
        )
    assert token["token_type"] == "Bearer" and token["scope"] == ["api"]

    companies = session.get(base_url + "/rest/companies", timeout=10)
    assert companies.status_code == 200 and {c["name"] for c in companies.json()} >= {"Stripe"}

    auth = requests.auth.HTTPBasicAuth(client_id, secret) if secret else None
    extra = {} if secret else {"client_id": client_id}
    refreshed = session.refresh_token(metadata["token_endpoint"], auth=auth, **extra)
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200

    # The spent refresh token is refused, and its reuse ends the grant (RFC 9700 §4.14.2).
    with pytest.raises(InvalidGrantError):
        session.refresh_token(
            metadata["token_endpoint"], refresh_token=token["refresh_token"], auth=auth, **extra
        )
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 401

    # A fresh grant, then revocation (RFC 7009) by hand.
    session = OAuth2Session(client_id, redirect_uri=REDIRECT_URI, scope=["api"], pkce="S256")
    url, _ = session.authorization_url(metadata["authorization_endpoint"])
    location = person.decide(url)
    if secret:
        session.fetch_token(metadata["token_endpoint"], authorization_response=location, client_secret=secret)
    else:
        session.fetch_token(
            metadata["token_endpoint"], authorization_response=location, include_client_id=True
        )
    revoked = requests.post(
        metadata["revocation_endpoint"],
        data={"token": session.token["access_token"], "token_type_hint": "access_token", **extra},
        auth=auth,
        timeout=10,
    )
    assert revoked.status_code == 200
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 401


def recording(session: OAuth2Session) -> list[requests.PreparedRequest]:
    """The requests ``session`` sends from now on, as they went out."""
    sent: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    return sent


def test_public_client_default_token_request(base_url, person, metadata):
    """
    ``fetch_token`` with no secret and ``include_client_id`` left alone: requests-oauthlib sends
    ``Authorization: Basic base64(client_id ":")`` and no client_id in the body. The server takes
    it as the ``none`` client it is (RFC 6749 §2.3.1: the secret of a client without one is empty).
    """
    registered = register(metadata, "none")
    client_id = registered["client_id"]
    session = OAuth2Session(client_id, redirect_uri=REDIRECT_URI, scope=["api"], pkce="S256")
    url, _ = session.authorization_url(metadata["authorization_endpoint"])
    location = person.decide(url)
    sent = recording(session)
    token = session.fetch_token(metadata["token_endpoint"], authorization_response=location)

    request = sent[-1]
    assert request.url == metadata["token_endpoint"]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{client_id}:".encode()).decode()
    body = parse_qs(request.body)
    assert "client_id" not in body and "client_secret" not in body and body["code_verifier"]
    assert token["token_type"] == "Bearer" and token["scope"] == ["api"] and token["refresh_token"]
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200

    # The refresh, named the same way, works too and rotates.
    refreshed = session.refresh_token(
        metadata["token_endpoint"], auth=requests.auth.HTTPBasicAuth(client_id, "")
    )
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_confidential_client_default_token_request_without_its_secret_is_refused(person, metadata):
    """The same default for a confidential client that forgot its secret: invalid_client, code intact."""
    registered = register(metadata, "client_secret_basic")
    session = OAuth2Session(registered["client_id"], redirect_uri=REDIRECT_URI, scope=["api"], pkce="S256")
    url, _ = session.authorization_url(metadata["authorization_endpoint"])
    location = person.decide(url)
    with pytest.raises(InvalidClientError):
        session.fetch_token(metadata["token_endpoint"], authorization_response=location)
    # Client authentication failed before the code was looked at: with the secret it redeems.
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, client_secret=registered["client_secret"]
    )
    assert token["token_type"] == "Bearer"


def test_client_credentials_with_backend_application_client(site, base_url, metadata):
    service = admin_client(
        site, client_name="requests-oauthlib service", grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_basic",
    )  # fmt: skip
    session = OAuth2Session(client=BackendApplicationClient(client_id=service["client_id"]))
    token = session.fetch_token(
        metadata["token_endpoint"], client_id=service["client_id"], client_secret=service["client_secret"]
    )
    assert "refresh_token" not in token and token["scope"] == ["api"]
    assert session.get(base_url + "/rest/companies", timeout=10).status_code == 200
