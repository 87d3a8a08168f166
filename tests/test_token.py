"""POST /oauth/token: the three grants and client authentication (RFC 6749 §2.3, §4, §5, §6)."""

import re
import time
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from tests.conftest import (
    ISSUER,
    basic,
    code_request,
    code_tokens,
    obtain_code,
    pkce_pair,
    refresh_request,
    token_request,
)
from tests.factories import make_client
from twenty_oauth.models import AccessToken, AuthorizationCode, Client, RefreshToken

pytestmark = pytest.mark.django_db

TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "scope"}


def claims_of(access_token):
    return jwt.decode(access_token, options={"verify_signature": False})


def assert_error(response, status, error):
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


# -- authorization_code ---------------------------------------------------------------------


def test_contract_exchange_with_client_secret_post(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    response = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"]
    claims = claims_of(body["access_token"])
    assert claims["iss"] == ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == ISSUER
    assert claims["client_id"] == oauth_client.client_id
    assert claims["scope"] == "api"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]
    assert AuthorizationCode.objects.get().used_at is not None


def test_exchange_with_client_secret_basic(client, user):
    oauth_client, secret = make_client(token_endpoint_auth_method="client_secret_basic")
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    data = code_request(oauth_client, code, verifier)
    del data["client_id"]
    response = token_request(client, data, HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret))
    assert response.status_code == 200
    assert set(response.json()) == TOKEN_FIELDS


def test_public_client_exchange(client, user, public):
    body = code_tokens(client, user, public)
    assert set(body) == TOKEN_FIELDS


def test_confidential_client_without_pkce(client, user, confidential):
    oauth_client, secret = confidential
    code = obtain_code(client, user, oauth_client)
    response = token_request(client, code_request(oauth_client, code, None, secret))
    assert response.status_code == 200


def test_wrong_verifier(client, user, confidential):
    oauth_client, secret = confidential
    _, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    other, _ = pkce_pair()
    assert_error(token_request(client, code_request(oauth_client, code, other, secret)), 400, "invalid_grant")
    assert AuthorizationCode.objects.get().used_at is None


def test_missing_verifier_when_challenge_was_sent(client, user, confidential):
    oauth_client, secret = confidential
    _, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    assert_error(token_request(client, code_request(oauth_client, code, None, secret)), 400, "invalid_grant")


def test_verifier_without_challenge(client, user, confidential):
    oauth_client, secret = confidential
    code = obtain_code(client, user, oauth_client)
    verifier, _ = pkce_pair()
    assert_error(
        token_request(client, code_request(oauth_client, code, verifier, secret)), 400, "invalid_grant"
    )


def test_redirect_uri_must_match(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    data = code_request(oauth_client, code, verifier, secret, redirect_uri="https://app.example.com/other")
    assert_error(token_request(client, data), 400, "invalid_grant")
    data = code_request(oauth_client, code, verifier, secret, redirect_uri=None)
    assert_error(token_request(client, data), 400, "invalid_grant")


def test_code_is_single_use_and_replay_revokes(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    first = token_request(client, code_request(oauth_client, code, verifier, secret)).json()
    replay = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert_error(replay, 400, "invalid_grant")
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    assert api.status_code == 401
    refresh = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": oauth_client.client_id,
            "client_secret": secret,
        },
    )
    assert_error(refresh, 400, "invalid_grant")


def test_expired_code(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(
        token_request(client, code_request(oauth_client, code, verifier, secret)), 400, "invalid_grant"
    )


def test_code_of_another_client(client, user, confidential):
    oauth_client, _ = confidential
    other, other_secret = make_client(client_name="Other")
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    data = code_request(other, code, verifier, other_secret)
    assert_error(token_request(client, data), 400, "invalid_grant")
    assert AuthorizationCode.objects.get().used_at is None


def _presenting(http, user, oauth_client, secret, grant):
    """A function of the secret sent: a token request presenting a ``grant`` of ``oauth_client``."""
    if grant == "code":
        verifier, challenge = pkce_pair()
        code = obtain_code(http, user, oauth_client, challenge=challenge)
        return lambda sent: code_request(oauth_client, code, verifier, sent)
    refresh_token = code_tokens(http, user, oauth_client, secret)["refresh_token"]
    return lambda sent: refresh_request(oauth_client, refresh_token, sent)


@pytest.mark.parametrize("grant", ["code", "refresh_token"])
def test_the_client_read_with_its_grant_is_still_authenticated(client, user, confidential, grant):
    """
    The client row read with the code or refresh token stands in for the client's own lookup:
    its secret and its being active are checked all the same, and a refused request spends
    nothing.
    """
    oauth_client, secret = confidential
    presenting = _presenting(client, user, oauth_client, secret, grant)
    assert_error(token_request(client, presenting("wrong secret")), 401, "invalid_client")
    Client.objects.filter(pk=oauth_client.pk).update(is_active=False)
    assert_error(token_request(client, presenting(secret)), 401, "invalid_client")
    Client.objects.filter(pk=oauth_client.pk).update(is_active=True)
    response = token_request(client, presenting(secret))
    assert response.status_code == 200, response.content
    assert response.json().keys() >= TOKEN_FIELDS


def test_refresh_token_of_another_client(client, user, confidential):
    oauth_client, secret = confidential
    other, other_secret = make_client(
        client_name="Other", grant_types=["authorization_code", "refresh_token"]
    )
    refresh_token = code_tokens(client, user, oauth_client, secret)["refresh_token"]
    assert_error(
        token_request(client, refresh_request(other, refresh_token, other_secret)), 400, "invalid_grant"
    )
    assert RefreshToken.objects.get().used_at is None


def test_unknown_code(client, confidential):
    oauth_client, secret = confidential
    verifier, _ = pkce_pair()
    assert_error(
        token_request(client, code_request(oauth_client, "nope", verifier, secret)), 400, "invalid_grant"
    )


def test_missing_code(client, confidential):
    oauth_client, secret = confidential
    data = {"grant_type": "authorization_code", "client_id": oauth_client.client_id, "client_secret": secret}
    assert_error(token_request(client, data), 400, "invalid_request")


def test_inactive_user_cannot_redeem(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    user.is_active = False
    user.save()
    assert_error(
        token_request(client, code_request(oauth_client, code, verifier, secret)), 400, "invalid_grant"
    )


def test_client_without_the_grant_is_unauthorized(client, service):
    oauth_client, secret = service
    data = {
        "grant_type": "authorization_code",
        "code": "x",
        "client_id": oauth_client.client_id,
        "client_secret": secret,
    }
    assert_error(token_request(client, data), 400, "unauthorized_client")


# -- refresh_token --------------------------------------------------------------------------


def test_refresh_rotates(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret, scope="api profile")
    response = token_request(client, refresh_request(oauth_client, first["refresh_token"], secret))
    assert response.status_code == 200
    second = response.json()
    assert set(second) == TOKEN_FIELDS
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "api profile"
    assert RefreshToken.objects.filter(used_at__isnull=True).count() == 1
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {second['access_token']}")
    assert api.status_code == 200


def test_spent_refresh_token_revokes_the_family(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret)
    second = token_request(client, refresh_request(oauth_client, first["refresh_token"], secret)).json()
    reuse = token_request(client, refresh_request(oauth_client, first["refresh_token"], secret))
    assert_error(reuse, 400, "invalid_grant")
    # The legitimate holder's newer tokens are gone too (RFC 9700 §4.14.2).
    assert_error(
        token_request(client, refresh_request(oauth_client, second["refresh_token"], secret)),
        400,
        "invalid_grant",
    )
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {second['access_token']}")
    assert api.status_code == 401


def test_refresh_can_narrow_but_not_widen_scope(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret, scope="api profile")
    narrowed = token_request(
        client, refresh_request(oauth_client, first["refresh_token"], secret, scope="profile")
    ).json()
    assert narrowed["scope"] == "profile"
    # The new refresh token keeps the original grant (RFC 6749 §6).
    again = token_request(client, refresh_request(oauth_client, narrowed["refresh_token"], secret)).json()
    assert again["scope"] == "api profile"
    other = code_tokens(client, user, oauth_client, secret, scope="profile")
    wider = token_request(
        client, refresh_request(oauth_client, other["refresh_token"], secret, scope="api profile")
    )
    assert_error(wider, 400, "invalid_scope")


def test_refresh_bound_to_client(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret)
    other, other_secret = make_client(client_name="Other")
    response = token_request(client, refresh_request(other, first["refresh_token"], other_secret))
    assert_error(response, 400, "invalid_grant")
    # Still usable by its own client.
    assert (
        token_request(client, refresh_request(oauth_client, first["refresh_token"], secret)).status_code
        == 200
    )


def test_public_client_refresh(client, user, public):
    first = code_tokens(client, user, public)
    response = token_request(client, refresh_request(public, first["refresh_token"]))
    assert response.status_code == 200


def test_public_client_named_by_basic_with_an_empty_password(client, user, public):
    """
    What requests-oauthlib sends by default for a client without a secret: ``Basic
    base64(client_id ":")`` and no client_id in the body. It authenticates nothing, as ``none``.
    """
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge)
    data = code_request(public, code, verifier)
    del data["client_id"]
    response = token_request(client, data, HTTP_AUTHORIZATION=basic(public.client_id, ""))
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert claims_of(body["access_token"])["client_id"] == public.client_id

    data = refresh_request(public, body["refresh_token"])
    del data["client_id"]
    refreshed = token_request(client, data, HTTP_AUTHORIZATION=basic(public.client_id, ""))
    assert refreshed.status_code == 200, refreshed.content
    renewed = refreshed.json()

    revoked = client.post(
        "/oauth/revoke",
        f"token={renewed['refresh_token']}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(public.client_id, ""),
    )
    assert revoked.status_code == 200 and revoked.json() == {}
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {renewed['access_token']}")
    assert api.status_code == 401


def test_expired_refresh_token(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret)
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(
        token_request(client, refresh_request(oauth_client, first["refresh_token"], secret)),
        400,
        "invalid_grant",
    )


def test_refresh_of_deactivated_user(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret)
    user.is_active = False
    user.save()
    assert_error(
        token_request(client, refresh_request(oauth_client, first["refresh_token"], secret)),
        400,
        "invalid_grant",
    )


def test_missing_refresh_token(client, confidential):
    oauth_client, secret = confidential
    data = {"grant_type": "refresh_token", "client_id": oauth_client.client_id, "client_secret": secret}
    assert_error(token_request(client, data), 400, "invalid_request")


# -- client_credentials ---------------------------------------------------------------------


def cc_request(oauth_client, secret, **extra):
    return {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": secret,
        **extra,
    }


def test_contract_client_credentials(client, service):
    oauth_client, secret = service
    response = token_request(client, cc_request(oauth_client, secret, scope="api"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["scope"] == "api"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == oauth_client.client_id
    assert claims["client_id"] == oauth_client.client_id
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.status_code == 200


def test_jti_is_unique_and_ordered_by_time_of_issue(client, service):
    """
    RFC 9562 §5.7 ordering: a ``jti`` opens with its time of issue in milliseconds, so a token
    issued in a later millisecond sorts after the earlier ones. Within one millisecond the
    random tail decides, which is why the heads, not the whole values, are compared in order.
    """
    oauth_client, secret = service
    issued = []
    for _ in range(5):
        before = time.time_ns() // 1_000_000
        response = token_request(client, cc_request(oauth_client, secret))
        after = time.time_ns() // 1_000_000
        assert response.status_code == 200
        issued.append((before, claims_of(response.json()["access_token"]), after))
    jtis = [claims["jti"] for _, claims, _ in issued]
    assert all(re.fullmatch(r"[0-9a-f]{32}", jti) for jti in jtis)
    assert len(set(jtis)) == 5
    heads = [int(jti[:12], 16) for jti in jtis]
    assert heads == sorted(heads)
    for (before, claims, after), head in zip(issued, heads, strict=True):
        assert before <= head <= after
        assert abs(head / 1000 - claims["iat"]) < 2
    assert set(AccessToken.objects.values_list("jti", flat=True)) == set(jtis)


def test_client_credentials_with_basic(client, service):
    oauth_client, secret = service
    response = token_request(
        client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret)
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "api"


def test_client_credentials_scope_is_narrowed(client):
    oauth_client, secret = make_client(grant_types=["client_credentials"], redirect_uris=[], scope="api")
    body = token_request(client, cc_request(oauth_client, secret, scope="api profile")).json()
    assert body["scope"] == "api"
    response = token_request(client, cc_request(oauth_client, secret, scope="profile"))
    assert_error(response, 400, "invalid_scope")


def test_dynamic_client_needs_admin_approval_for_client_credentials(client):
    import json

    registered = client.post(
        "/oauth/register",
        json.dumps(
            {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}
        ),
        content_type="application/json",
    ).json()
    data = {
        "grant_type": "client_credentials",
        "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
    }
    response = token_request(client, data)
    assert_error(response, 400, "unauthorized_client")
    assert "until an administrator allows it" in response.json()["error_description"]
    assert not AccessToken.objects.exists()
    Client.objects.filter(client_id=registered["client_id"]).update(client_credentials_allowed=True)
    assert token_request(client, data).status_code == 200


def test_public_client_cannot_use_client_credentials(client, public):
    response = token_request(client, {"grant_type": "client_credentials", "client_id": public.client_id})
    assert_error(response, 400, "unauthorized_client")


def test_code_client_cannot_use_client_credentials(client, confidential):
    """No administrator can change that: the description says what the client must do instead."""
    oauth_client, secret = confidential
    response = token_request(client, cc_request(oauth_client, secret))
    assert_error(response, 400, "unauthorized_client")
    assert response.json()["error_description"] == "This client is not registered for client_credentials."


# -- client authentication and request shape ------------------------------------------------


def test_confidential_client_without_secret(client, service):
    oauth_client, _ = service
    response = token_request(
        client, {"grant_type": "client_credentials", "client_id": oauth_client.client_id}
    )
    assert_error(response, 401, "invalid_client")


def test_secret_expired(client, service):
    oauth_client, secret = service
    Client.objects.filter(pk=oauth_client.pk).update(
        client_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_error(token_request(client, cc_request(oauth_client, secret)), 401, "invalid_client")


def test_inactive_client(client, service):
    oauth_client, secret = service
    Client.objects.filter(pk=oauth_client.pk).update(is_active=False)
    assert_error(token_request(client, cc_request(oauth_client, secret)), 401, "invalid_client")


@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:ietf:params:oauth:grant-type:token-exchange"]
)
def test_unsupported_grant_types(client, grant_type):
    assert_error(token_request(client, {"grant_type": grant_type}), 400, "unsupported_grant_type")
