"""OpenID Connect Core 1.0 on the authorization code flow: ID tokens, offline_access, refresh."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from django.test import override_settings

from tests.conftest import (
    ISSUER,
    REDIRECT,
    code_request,
    code_tokens,
    obtain_code,
    pkce_pair,
    refresh,
    token_request,
)
from tests.factories import UserFactory, make_client
from twenty_oauth.models import Subject
from twenty_oauth.protocol import keys

pytestmark = pytest.mark.django_db

NONCE = "n-0S6_WzA2Mj"


def verify_id_token(http, id_token: str, client_id: str, algorithm: str = "ES256", leeway: int = 0) -> dict:
    """Check an ID token as a relying party does (Core §3.1.3.7): against the published JWKS."""
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == algorithm
    jwks = http.get("/oauth/jwks").json()
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    return jwt.decode(
        id_token,
        jwt.PyJWK(jwk).key,
        algorithms=[algorithm],
        audience=client_id,
        issuer=ISSUER,
        leeway=leeway,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_openid_code_exchange_returns_a_signed_id_token_core_3_1_3_6(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="openid profile", extra={"nonce": NONCE})
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body  # §11: no offline_access, no refresh token
    claims = verify_id_token(client, body["id_token"], oauth_client.client_id)
    subject = Subject.objects.get(user=user)
    assert claims["sub"] == subject.sub
    assert claims["sub"] != str(user.pk)
    assert claims["aud"] == oauth_client.client_id
    assert claims["azp"] == oauth_client.client_id
    assert claims["nonce"] == NONCE
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["exp"] == claims["iat"] + 3600
    user.refresh_from_db()
    assert claims["auth_time"] == int(user.last_login.timestamp())
    assert claims["preferred_username"] == user.get_username()


def test_sub_is_stable_across_sign_ins_and_clients_core_2(client, user, confidential):
    oauth_client, secret = confidential
    other, other_secret = make_client(client_name="Other")
    first = code_tokens(client, user, oauth_client, secret, scope="openid")
    second = code_tokens(client, user, other, other_secret, scope="openid")
    first_sub = verify_id_token(client, first["id_token"], oauth_client.client_id)["sub"]
    second_sub = verify_id_token(client, second["id_token"], other.client_id)["sub"]
    assert first_sub == second_sub
    assert Subject.objects.filter(user=user).count() == 1


def test_plain_oauth_request_gets_no_id_token_and_keeps_its_refresh_token(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="api")
    assert "id_token" not in body
    assert body["refresh_token"]
    assert not Subject.objects.exists()


def test_nonce_is_left_out_when_not_sent_core_3_1_3_6(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="openid")
    claims = verify_id_token(client, body["id_token"], oauth_client.client_id)
    assert "nonce" not in claims
    assert "preferred_username" not in claims  # no profile scope


def test_offline_access_gives_a_refresh_token_and_refresh_a_new_id_token_core_11_12_2(
    client, user, confidential, clock
):
    oauth_client, secret = confidential
    body = code_tokens(
        client, user, oauth_client, secret, scope="openid offline_access", extra={"nonce": NONCE}
    )
    first = verify_id_token(client, body["id_token"], oauth_client.client_id)
    clock.advance(120)
    response = refresh(client, oauth_client, secret, body["refresh_token"])
    assert response.status_code == 200, response.content
    refreshed = response.json()
    claims = verify_id_token(client, refreshed["id_token"], oauth_client.client_id, leeway=300)
    assert claims["sub"] == first["sub"]
    assert claims["auth_time"] == first["auth_time"]
    assert claims["iat"] >= first["iat"] + 120
    assert "nonce" not in claims  # §12.2
    assert claims["at_hash"] == at_hash(refreshed["access_token"])


def test_refresh_narrowed_without_openid_returns_no_id_token(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="openid api offline_access")
    response = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": oauth_client.client_id,
            "client_secret": secret,
            "scope": "api",
        },
    )
    assert response.status_code == 200, response.content
    assert "id_token" not in response.json()


def test_rs256_client_without_an_rsa_key_is_told_to_retry_core_3_1_3_7(client, user):
    oauth_client, secret = make_client(id_token_signed_response_alg="RS256")
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, scope="openid", challenge=challenge)
    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert "id_token" not in response.content.decode()


def test_rs256_client_gets_an_rs256_id_token_from_a_published_rsa_key_core_15_1(client, user):
    keys.create_key("RS256", activate=False)
    oauth_client, secret = make_client(id_token_signed_response_alg="RS256")
    body = code_tokens(client, user, oauth_client, secret, scope="openid")
    verify_id_token(client, body["id_token"], oauth_client.client_id, algorithm="RS256")
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "ES256"


def test_openid_configuration_discovery_3_4(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    server = client.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == server["issuer"] == ISSUER
    assert body["authorization_endpoint"] == f"{ISSUER}/oauth/authorize"
    assert body["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert body["userinfo_endpoint"] == f"{ISSUER}/oauth/userinfo"
    assert body["jwks_uri"] == f"{ISSUER}/oauth/jwks"
    assert body["response_types_supported"] == ["code"]
    assert body["subject_types_supported"] == ["public"]
    assert body["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "offline_access"} <= set(body["scopes_supported"])
    assert {"sub", "iss", "auth_time", "nonce", "email", "preferred_username"} <= set(
        body["claims_supported"]
    )
    assert body["request_parameter_supported"] is False
    assert body["request_uri_parameter_supported"] is False
    assert "subject_types_supported" not in server  # the RFC 8414 document is unchanged


def test_issuer_with_a_path_has_its_configuration_after_the_path_discovery_4_1(client):
    with override_settings(TWENTY_OAUTH={"ISSUER": "https://auth.example.com/tenant"}):
        appended = client.get("/tenant/.well-known/openid-configuration")
        inserted = client.get("/.well-known/openid-configuration/tenant")
        other = client.get("/other/.well-known/openid-configuration")
    assert appended.status_code == 200
    assert appended.json()["issuer"] == "https://auth.example.com/tenant"
    assert inserted.status_code == 200 and inserted.json() == appended.json()
    assert other.status_code == 404


def userinfo(http, access_token: str):
    return http.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def test_userinfo_for_an_openid_token_core_5_3(client, confidential):
    oauth_client, secret = confidential
    person = UserFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    body = code_tokens(client, person, oauth_client, secret, scope="openid profile email")
    sub = verify_id_token(client, body["id_token"], oauth_client.client_id)["sub"]
    response = userinfo(client, body["access_token"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "sub": sub,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "preferred_username": person.get_username(),
        "email": "ada@example.com",
    }


def test_userinfo_for_openid_alone_names_only_the_subject_core_5_4(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="openid")
    response = userinfo(client, body["access_token"])
    assert response.status_code == 200
    assert response.json() == {"sub": Subject.objects.get(user=user).sub}


def test_userinfo_for_a_plain_profile_token_is_unchanged(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret, scope="profile")
    response = userinfo(client, body["access_token"])
    assert response.status_code == 200
    assert response.json()["sub"] == str(user.pk)
    assert not Subject.objects.exists()


def test_claims_hook_and_email_verified_hook_core_5_1(client, confidential):
    oauth_client, secret = confidential
    person = UserFactory(email="grace@example.com")
    hooks = {
        "OPENID_CLAIMS": "tests.test_openid.team_claim",
        "EMAIL_VERIFIED": "tests.test_openid.always_verified",
    }
    with override_settings(TWENTY_OAUTH=hooks):
        body = code_tokens(client, person, oauth_client, secret, scope="openid email")
        claims = verify_id_token(client, body["id_token"], oauth_client.client_id)
        info = userinfo(client, body["access_token"]).json()
    assert claims["team"] == info["team"] == "blue"
    assert claims["email_verified"] is info["email_verified"] is True
    assert claims["sub"] == info["sub"] != "forged"  # a hook cannot change the subject


def team_claim(claims, client, user, scopes):
    return {"team": "blue", "sub": "forged"}


def always_verified(user):
    return True


def test_consent_page_says_offline_access_core_11(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    page = client.get(
        "/oauth/authorize",
        {
            "client_id": oauth_client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "openid offline_access",
        },
    )
    assert page.status_code == 200
    assert "Keep access while you are not using the application" in page.content.decode()


def test_protected_resource_metadata_lists_only_the_apis_scopes(client):
    """RFC 9728 §2: a resource's scopes; OpenID Connect's are the authorization server's."""
    body = client.get("/.well-known/oauth-protected-resource").json()
    assert body["scopes_supported"] == ["api", "profile"]
