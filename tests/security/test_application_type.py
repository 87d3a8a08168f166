"""
What an ``application_type`` forbids (OpenID Connect Dynamic Client Registration 1.0 §2, RFC
8252 §7): a web client redirecting to the machine the browser runs on, however the address is
spelled; a native client that registers itself claiming an https redirect; a type that is not one.
Each is refused with the RFC 7591 §3.2.2 error, and no client is made.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import assert_oauth_error, register
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db

WEB_REDIRECT = "https://app.example.com/callback"
LOOPBACK_REDIRECT = "http://127.0.0.1/callback"


def refused(response, error: str, *fragments: str) -> None:
    body = assert_oauth_error(response, 400, error)
    assert response["Cache-Control"] == "no-store"
    for fragment in fragments:
        assert fragment in body["error_description"], body
    assert not Client.objects.exists()


def typed(application_type, redirect_uris: list[str]) -> dict:
    return {
        "client_name": "Typed",
        "token_endpoint_auth_method": "none",
        "application_type": application_type,
        "redirect_uris": redirect_uris,
    }


@pytest.mark.parametrize("value", ["desktop", "", "WEB", "Native", " web", 1, True, ["web"], {"type": "web"}])
def test_rfc7591_3_2_2_unknown_application_type_is_invalid_client_metadata(client, value):
    response = register(client, typed(value, [WEB_REDIRECT]))
    refused(response, "invalid_client_metadata", "application_type", "web, native")


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/callback",
        "http://localhost:3000/callback",
        "https://localhost/callback",
        "https://LOCALHOST./callback",
        "https://app.localhost/callback",
        "https://127.0.0.1/callback",
        "https://127.8.9.10:8443/callback",
        "https://[::1]/callback",
        "https://127.1/callback",
        "https://2130706433/callback",
        "https://[::ffff:127.0.0.1]/callback",
        "https://0.0.0.0/callback",
        "com.example.app:/oauth2redirect",
    ],
)
def test_oidc_registration_2_web_client_redirects_only_to_https_on_a_real_host(client, uri):
    response = register(client, typed("web", [WEB_REDIRECT, uri]))
    refused(response, "invalid_redirect_uri", "redirect_uris", "web client")


@pytest.mark.parametrize("uri", ["https://app.example.com/callback", "https://localhost/callback"])
def test_rfc8252_7_2_registered_native_client_may_not_claim_an_https_redirect(client, uri):
    """Only the host that vouches for the app, through its metadata document, may say so."""
    response = register(client, typed("native", [LOOPBACK_REDIRECT, uri]))
    refused(response, "invalid_redirect_uri", "redirect_uris", "native client")


def test_rfc8252_7_3_a_type_never_loosens_the_general_rules(client):
    """http on a host that is not loopback stays refused for a native client."""
    response = register(client, typed("native", ["http://app.example.com/cb"]))
    refused(response, "invalid_redirect_uri", "loopback")


def test_rfc7591_3_2_2_a_bad_type_is_reported_before_the_redirect_uris(client):
    response = register(client, typed("phone", ["http://app.example.com/cb"]))
    refused(response, "invalid_client_metadata", "application_type")
