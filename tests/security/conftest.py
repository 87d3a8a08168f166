"""
Fixtures for the security catalogue. Every test speaks HTTP to the server as a client or an
attacker would; helpers from ``tests/conftest.py`` run the ordinary flows.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client as HttpClient

from tests.conftest import api_status, code_tokens, form, token_request  # noqa: F401 - api_status is re-exported
from twenty_oauth.models import AccessToken, AuthorizationCode, Client, Consent, RefreshToken, TokenFamily

#: Ports this suite may listen on (127.0.0.1 only).
LIVE_PORTS = range(18100, 18200)

COUNTED = (Client, Consent, AuthorizationCode, TokenFamily, RefreshToken, AccessToken)


def row_counts() -> dict[str, int]:
    """How many rows each table holds: a refused request must leave them all as they were."""
    return {model.__name__: model.objects.count() for model in COUNTED}


def register(http: HttpClient, metadata: dict, **headers):
    return http.post("/oauth/register", json.dumps(metadata), content_type="application/json", **headers)


def refresh(http: HttpClient, refresh_token: str, client_id: str, secret: str | None = None, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra}
    if secret:
        data["client_secret"] = secret
    return token_request(http, data)


def introspect(http: HttpClient, token: str, client_id: str, secret: str) -> dict:
    response = http.post(
        "/oauth/introspect",
        form({"token": token, "client_id": client_id, "client_secret": secret}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    return response.json()


def assert_oauth_error(response, status: int | tuple[int, ...], *errors: str) -> dict:
    """A JSON error body (RFC 6749 §5.2) with one of ``errors`` and the expected status."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["error"] in errors, body
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    return body


def assert_error_page(response, error: str = "invalid_request") -> None:
    """The authorization endpoint's error page: shown, never redirected (RFC 6749 §4.1.2.1)."""
    assert response.status_code == 400, (response.status_code, response.get("Location"))
    assert "Location" not in response
    assert response["Content-Type"].startswith("text/html")
    assert f"<code>{error}</code>" in response.content.decode()


@pytest.fixture
def tokens_of(client, user, confidential):
    """A confidential client's first token response from the code flow, with its secret."""
    oauth_client, secret = confidential
    return oauth_client, secret, code_tokens(client, user, oauth_client, secret)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, bound to 127.0.0.1 on a free port of this suite's range."""
    from pytest_django.live_server_helper import LiveServer

    last_error = None
    for port in LIVE_PORTS:
        try:
            server = LiveServer(f"127.0.0.1:{port}")
        except OSError as exc:  # the port is taken: try the next one
            last_error = exc
            continue
        yield server
        server.stop()
        return
    raise RuntimeError(f"No free port in {LIVE_PORTS}: {last_error}")
