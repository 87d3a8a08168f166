"""
OpenID Connect abuse cases: a replayed code never yields a second ID token or another request's
nonce (Core §3.1.3.2, §15.5.2), a plain OAuth code never yields an ID token (§3.1.2.1),
``prompt=none`` never shows a page (§3.1.2.1), and logout is never an open redirector
(RP-Initiated Logout §3.1).
"""

from __future__ import annotations

import jwt
import pytest

from tests.conftest import (
    REDIRECT,
    code_request,
    code_tokens,
    obtain_code,
    pkce_pair,
    query_of,
    token_request,
)
from tests.factories import AuthorizationCodeFactory, ConsentFactory, UserFactory, make_client
from twenty_oauth.models import Subject

pytestmark = pytest.mark.django_db

EVIL = "https://evil.example/steal"
AFTER = "https://app.example.com/signed-out"


def test_core_15_5_2_nonce_replay_a_code_is_redeemed_once(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(
        client, user, oauth_client, scope="openid", challenge=challenge, extra={"nonce": "only-once"}
    )
    first = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert first.status_code == 200
    assert jwt.decode(first.json()["id_token"], options={"verify_signature": False})["nonce"] == "only-once"
    second = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert "id_token" not in second.json()
    # The first exchange's tokens end with the replay (RFC 6749 §4.1.2).
    info = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {first.json()['access_token']}")
    assert info.status_code == 401


def test_core_15_5_2_each_id_token_carries_its_own_requests_nonce(client, user, confidential):
    oauth_client, secret = confidential
    nonces = []
    for nonce in ("first-nonce", "second-nonce"):
        body = code_tokens(client, user, oauth_client, secret, scope="openid", extra={"nonce": nonce})
        nonces.append(jwt.decode(body["id_token"], options={"verify_signature": False})["nonce"])
    assert nonces == ["first-nonce", "second-nonce"]


def test_core_3_1_2_1_a_plain_oauth_code_never_yields_an_id_token(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, scope="api", challenge=challenge)
    response = token_request(
        client, code_request(oauth_client, code, verifier, secret, scope="openid", nonce="n")
    )
    assert response.status_code == 200
    body = response.json()
    assert "id_token" not in body and body["scope"] == "api"
    assert not Subject.objects.exists()


def test_core_3_1_2_1_an_openid_code_without_its_subject_yields_no_id_token(client, user, confidential):
    oauth_client, secret = confidential
    verifier, _ = pkce_pair()
    row, code = AuthorizationCodeFactory.with_code(
        client=oauth_client, user=user, scope="openid", code_verifier=verifier
    )
    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 200
    assert "id_token" not in response.json()


def test_core_3_1_2_1_an_openid_refresh_of_a_plain_grant_yields_no_id_token(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="api")
    response = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": oauth_client.client_id,
            "client_secret": secret,
            "scope": "openid",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def silent(http, oauth_client, **extra):
    params = {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
        "prompt": "none",
        **extra,
    }
    return http.get("/oauth/authorize", params)


@pytest.mark.parametrize(
    "signed_in, consented, extra",
    [
        (False, False, {}),
        (False, True, {}),
        (True, False, {}),
        (True, True, {"max_age": "0"}),
        (True, True, {"scope": "openid unknown"}),
        (True, True, {"id_token_hint": "not.a.token"}),
        (True, True, {"request": "eyJ"}),
        (True, True, {"code_challenge_method": "plain", "code_challenge": "x" * 43}),
    ],
)
def test_core_3_1_2_1_prompt_none_never_shows_a_page(
    client, confidential, clock, signed_in, consented, extra
):
    oauth_client, _ = confidential
    user = UserFactory()
    if consented:
        ConsentFactory(user=user, client=oauth_client, scope="openid")
    if signed_in:
        client.force_login(user)
        clock.advance(2)
    response = silent(client, oauth_client, **extra)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT + "?")
    query = query_of(response["Location"])
    assert "error" in query and query["state"] == "s"


def test_core_3_1_2_1_prompt_none_to_an_unregistered_uri_redirects_nowhere(client, user, confidential):
    oauth_client, _ = confidential
    response = silent(client, oauth_client, redirect_uri=EVIL)
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.parametrize(
    "uri",
    [
        EVIL,
        REDIRECT,  # a redirect URI, not a post-logout one
        AFTER + "/",
        AFTER + "?x=1",
        AFTER.upper(),
        "//evil.example/",
        "javascript:alert(1)",
    ],
)
def test_rp_logout_3_1_only_a_registered_post_logout_uri_is_followed(client, user, uri):
    oauth_client, secret = make_client(post_logout_redirect_uris=[AFTER])
    hint = code_tokens(client, user, oauth_client, secret, scope="openid")["id_token"]
    response = client.get("/oauth/logout", {"id_token_hint": hint, "post_logout_redirect_uri": uri})
    assert response.status_code == 400
    assert "Location" not in response
    assert "_auth_user_id" in client.session


def test_rp_logout_3_1_another_clients_uri_is_not_followed(client, user):
    mine, secret = make_client(post_logout_redirect_uris=[AFTER])
    make_client(client_name="Evil", post_logout_redirect_uris=[EVIL])
    hint = code_tokens(client, user, mine, secret, scope="openid")["id_token"]
    response = client.get("/oauth/logout", {"id_token_hint": hint, "post_logout_redirect_uri": EVIL})
    assert response.status_code == 400
    assert "Location" not in response


def test_rp_logout_3_1_a_uri_without_its_client_is_not_followed(client, user):
    make_client(post_logout_redirect_uris=[AFTER])
    client.force_login(user)
    response = client.get("/oauth/logout", {"post_logout_redirect_uri": AFTER})
    assert response.status_code == 400
    assert "Location" not in response


def test_rp_logout_2_a_hint_signed_by_another_key_is_refused(client, user):
    from cryptography.hazmat.primitives.asymmetric import ec

    oauth_client, _ = make_client(post_logout_redirect_uris=[AFTER])
    forged = jwt.encode(
        {"iss": "http://testserver", "sub": "x", "aud": oauth_client.client_id, "iat": 1},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": "someone-else"},
    )
    response = client.get("/oauth/logout", {"id_token_hint": forged, "post_logout_redirect_uri": AFTER})
    assert response.status_code == 400
    assert "Location" not in response
