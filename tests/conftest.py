"""Fixtures and helpers that speak to the server as a client would: through HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.factories import UserFactory, make_client
from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import metadata_documents
from twenty_oauth.protocol.discovery import clear_cache
from twenty_oauth.protocol.keys import keyring

ISSUER = "http://testserver"
REDIRECT = "https://app.example.com/callback"


@pytest.fixture(autouse=True)
def _fresh_state():
    cache.clear()
    keyring.clear()
    oauth_settings.reload()
    clear_cache()
    metadata_documents.forget()
    yield
    keyring.clear()
    # A name lookup outlives the request that gave up on it, holding a place among the fetches
    # at once until it returns: let it return before the next test counts those places.
    for thread in threading.enumerate():
        if thread.name == "twenty-oauth-resolve":
            thread.join(10)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def confidential(db):
    """A confidential client (client_secret_post) and its secret."""
    return make_client()


@pytest.fixture
def public(db):
    """A public client (PKCE, no secret)."""
    client, _ = make_client(token_endpoint_auth_method="none", client_name="Public App")
    return client


@pytest.fixture
def service(db):
    """A confidential client that an admin allowed to use client_credentials."""
    return make_client(
        client_name="Service",
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
    )


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def form(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


def api(http, access_token: str):
    """The demo API's answer to a bearer token: 200 while the token is live."""
    return http.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def api_status(http, access_token: str) -> int:
    return api(http, access_token).status_code


def code_request(oauth_client, code, verifier, secret=None, **extra) -> dict:
    """The form of an authorization-code token request; a None value leaves the field out."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": oauth_client.client_id,
        "code_verifier": verifier,
    }
    if secret:
        data["client_secret"] = secret
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def refresh_request(oauth_client, refresh_token, secret=None, **extra) -> dict:
    """The form of a refresh-token request (RFC 6749 §6); a None value leaves the field out."""
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": oauth_client.client_id,
    }
    if secret:
        data["client_secret"] = secret
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def refresh(http, oauth_client, secret, refresh_token):
    """POST a refresh-token request to /oauth/token and return the response."""
    return token_request(http, refresh_request(oauth_client, refresh_token, secret))


def token_request(http, data: dict, **headers):
    return http.post("/oauth/token", form(data), content_type="application/x-www-form-urlencoded", **headers)


def authorize(
    http,
    user,
    client,
    *,
    scope="api",
    state="xyz",
    challenge=None,
    redirect_uri=REDIRECT,
    extra=None,
    approve=True,
):
    """Log in, load the consent page, approve or deny it; return the final redirect response."""
    http.force_login(user)
    params = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if scope is not None:
        params["scope"] = scope
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra or {})
    page = http.get("/oauth/authorize", params)
    assert page.status_code == 200, page.content
    signed = page.context["signed_request"]
    decision = {"allow": "1"} if approve else {"deny": "1"}
    return http.post("/oauth/authorize", {"request": signed, **decision})


def obtain_code(http, user, client, **kwargs) -> str:
    response = authorize(http, user, client, **kwargs)
    assert response.status_code == 302, response.content
    return query_of(response["Location"])["code"]


def code_tokens(http, user, client, secret=None, **kwargs) -> dict:
    """Run the whole authorization-code flow with PKCE and return the token response body."""
    verifier, challenge = pkce_pair()
    code = obtain_code(http, user, client, challenge=challenge, **kwargs)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": kwargs.get("redirect_uri", REDIRECT),
        "client_id": client.client_id,
        "code_verifier": verifier,
    }
    if secret:
        data["client_secret"] = secret
    response = token_request(http, data)
    assert response.status_code == 200, response.content
    return response.json()


def register(http, **metadata) -> dict:
    """Register a client at /oauth/register (RFC 7591) and return the 201 answer's body."""
    metadata.setdefault("client_name", "Self-managed App")
    metadata.setdefault("redirect_uris", [REDIRECT])
    metadata.setdefault("token_endpoint_auth_method", "client_secret_post")
    response = http.post("/oauth/register", json.dumps(metadata), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def configure(http, method: str, uri: str, token: str | None, body=None, **headers):
    """
    ``method`` (``get``, ``put``, ``delete``...) at a client's configuration endpoint ``uri``
    (RFC 7592 §2) with ``token`` as its Bearer token; a ``body`` other than a string is sent as JSON.
    """
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body is not None:
        headers.setdefault("content_type", "application/json")
        payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return getattr(http, method)(urlsplit(uri).path, payload, **headers)
    return getattr(http, method)(urlsplit(uri).path, **headers)


def metadata_of(information: dict) -> dict:
    """What an update sends back of a read (RFC 7592 §2.2): all but what the server sets."""
    server_set = (
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
        "client_secret",
    )
    return {name: value for name, value in information.items() if name not in server_set}


DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def device_client(db):
    """A public client registered for the device grant and for refresh tokens: a CLI."""
    client, _ = make_client(
        client_name="Example CLI",
        token_endpoint_auth_method="none",
        grant_types=[DEVICE_CODE, "refresh_token"],
        redirect_uris=[],
    )
    return client


def device_authorization(http, data: dict, **headers):
    """POST a device authorization request (RFC 8628 §3.1)."""
    return http.post(
        "/oauth/device_authorization", form(data), content_type="application/x-www-form-urlencoded", **headers
    )


def start_device(http, oauth_client, secret=None, **extra) -> dict:
    """A device authorization for ``oauth_client``; returns the RFC 8628 §3.2 answer."""
    data = {"client_id": oauth_client.client_id, **extra}
    if secret:
        data["client_secret"] = secret
    response = device_authorization(http, data)
    assert response.status_code == 200, response.content
    return response.json()


def device_poll_request(oauth_client, device_code, secret=None, **extra) -> dict:
    """The form of a device's token request (RFC 8628 §3.4); a None value leaves the field out."""
    data = {"grant_type": DEVICE_CODE, "device_code": device_code, "client_id": oauth_client.client_id}
    if secret:
        data["client_secret"] = secret
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def device_poll(http, oauth_client, device_code, secret=None, **extra):
    """POST a device's poll of the token endpoint and return the response."""
    return token_request(http, device_poll_request(oauth_client, device_code, secret, **extra))


def confirm_device(http, user, user_code: str):
    """Sign ``user`` in and type ``user_code`` on the device page; returns the page (the consent screen)."""
    http.force_login(user)
    return http.post("/oauth/device", {"user_code": user_code})


def decide_device(http, user, user_code: str, *, approve: bool = True):
    """Confirm the code as ``user`` and press Allow (or Deny); returns the final page."""
    page = confirm_device(http, user, user_code)
    assert page.status_code == 200, page.content
    decision = {"allow": "1"} if approve else {"deny": "1"}
    return http.post("/oauth/device", {"grant": page.context["signed_grant"], **decision})


def device_tokens(http, user, oauth_client, secret=None, **extra) -> dict:
    """The whole device flow, approved by ``user``; returns the token response body."""
    started = start_device(http, oauth_client, secret, **extra)
    done = decide_device(http, user, started["user_code"])
    assert done.status_code == 200, done.content
    response = device_poll(http, oauth_client, started["device_code"], secret)
    assert response.status_code == 200, response.content
    return response.json()


class Clock:
    """The server's clock, ``django.utils.timezone.now``, moved forward by a test rather than waited for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)
