"""
Mix-up defence (RFC 9207, RFC 9700 §4.4.2): every authorization response, errors included,
carries ``iss``, byte-identical to the ``issuer`` of the server's metadata.
"""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest
from django.test import override_settings

from tests.conftest import REDIRECT, authorize, pkce_pair, query_of, token_request

pytestmark = pytest.mark.django_db


def metadata_issuer(http) -> str:
    return http.get("/.well-known/oauth-authorization-server").json()["issuer"]


def test_rfc9207_2_iss_on_a_successful_authorization_response(client, user, confidential):
    oauth_client, _ = confidential
    response = authorize(client, user, oauth_client)
    assert query_of(response["Location"])["iss"] == metadata_issuer(client)


def test_rfc9207_2_iss_on_an_access_denied_response(client, user, confidential):
    oauth_client, _ = confidential
    response = authorize(client, user, oauth_client, approve=False)
    params = query_of(response["Location"])
    assert params["error"] == "access_denied"
    assert params["iss"] == metadata_issuer(client)


def test_rfc9207_2_iss_on_every_redirected_error_response(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    issuer = metadata_issuer(client)
    for extra, error in [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "invalid_request"),
        ({"scope": "nonexistent"}, "invalid_scope"),
        ({"code_challenge_method": "plain", "code_challenge": "x" * 43}, "invalid_request"),
        ({"resource": "https://elsewhere.example/api"}, "invalid_target"),
        ({"request_uri": "urn:example:1"}, "invalid_request"),
    ]:
        params = {"client_id": oauth_client.client_id, "response_type": "code", "redirect_uri": REDIRECT}
        params.update(extra)
        response = client.get("/oauth/authorize?" + urlencode(params))
        assert response.status_code == 302, extra
        query = query_of(response["Location"])
        assert query["error"] == error, (extra, query)
        assert query["iss"] == issuer


def test_rfc9207_2_iss_is_byte_identical_to_a_configured_issuer(client, user, confidential):
    """With a path and a trailing slash kept as configured: no normalisation anywhere."""
    oauth_client, secret = confidential
    issuer = "https://auth.example.com/tenant-1/"
    with override_settings(TWENTY_OAUTH={"ISSUER": issuer}):
        assert metadata_issuer(client) == issuer
        verifier, challenge = pkce_pair()
        response = authorize(client, user, oauth_client, challenge=challenge)
        params = query_of(response["Location"])
        assert params["iss"] == issuer
        body = token_request(
            client,
            {
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": REDIRECT,
                "client_id": oauth_client.client_id,
                "client_secret": secret,
                "code_verifier": verifier,
            },
        ).json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["iss"] == issuer


def test_rfc9207_3_metadata_announces_the_iss_parameter(client):
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["authorization_response_iss_parameter_supported"] is True
