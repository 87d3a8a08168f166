"""
Authorization codes: short-lived, single use, and bound to everything they were issued for
(RFC 6749 §4.1.2, §4.1.3, §10.5; RFC 9700 §4.2.4, §4.5.3).
"""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.core import checks
from django.test import override_settings
from django.utils import timezone

from tests.conftest import REDIRECT, code_request, obtain_code, pkce_pair, token_request
from tests.factories import make_client
from tests.security.conftest import api_status, assert_oauth_error, introspect, refresh, row_counts
from twenty_oauth.models import AuthorizationCode, TokenFamily
from twenty_oauth.protocol import consents
from twenty_oauth.protocol.grants import authorization_code

pytestmark = pytest.mark.django_db


def redeem(http, oauth_client, code, verifier, secret=None, **extra):
    return token_request(http, code_request(oauth_client, code, verifier, secret, **extra))


@pytest.fixture
def issued(client, user, confidential):
    """A code with PKCE for the confidential client, before redemption."""
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    return oauth_client, secret, code, verifier


def test_rfc6749_4_1_2_code_lifetime_defaults_to_60_seconds(client, issued):
    row = AuthorizationCode.objects.get()
    assert (row.expires_at - row.created_at).total_seconds() == 60


def test_rfc6749_4_1_2_code_lifetime_never_exceeds_ten_minutes(client, user, confidential):
    oauth_client, _ = confidential
    with override_settings(TWENTY_OAUTH={"AUTHORIZATION_CODE_LIFETIME": 3600}):
        obtain_code(client, user, oauth_client)
        errors = [m.id for m in checks.run_checks(tags=[checks.Tags.security])]
    row = AuthorizationCode.objects.get()
    assert (row.expires_at - row.created_at).total_seconds() == 600
    assert "twenty_oauth.E016" in errors


def test_rfc6749_4_1_2_code_is_accepted_until_it_expires(client, user, confidential, clock):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    clock.advance(59)
    assert redeem(client, oauth_client, code, verifier, secret).status_code == 200


def test_rfc6749_4_1_2_expired_code_is_refused(client, user, confidential, clock):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    clock.advance(60)  # the default lifetime has passed
    before = row_counts()
    body = assert_oauth_error(redeem(client, oauth_client, code, verifier, secret), 400, "invalid_grant")
    assert "expired" in body["error_description"]
    assert row_counts() == before


def test_rfc6749_4_1_2_code_is_single_use(client, issued):
    oauth_client, secret, code, verifier = issued
    assert redeem(client, oauth_client, code, verifier, secret).status_code == 200
    assert_oauth_error(redeem(client, oauth_client, code, verifier, secret), 400, "invalid_grant")


def test_rfc9700_4_2_4_second_redemption_revokes_tokens(client, issued):
    """Every token the code led to dies, the refreshed ones included (RFC 6749 §4.1.2)."""
    oauth_client, secret, code, verifier = issued
    first = redeem(client, oauth_client, code, verifier, secret).json()
    rotated = refresh(client, first["refresh_token"], oauth_client.client_id, secret).json()
    assert api_status(client, rotated["access_token"]) == 200

    body = assert_oauth_error(redeem(client, oauth_client, code, verifier, secret), 400, "invalid_grant")
    assert "revoked" in body["error_description"]
    assert api_status(client, first["access_token"]) == 401
    assert api_status(client, rotated["access_token"]) == 401
    assert_oauth_error(
        refresh(client, rotated["refresh_token"], oauth_client.client_id, secret), 400, "invalid_grant"
    )
    assert introspect(client, rotated["access_token"], oauth_client.client_id, secret) == {"active": False}


def test_rfc9700_4_2_4_second_redemption_after_expiry_still_revokes(client, issued):
    """The thief redeemed first; the client's own redemption comes once the code has expired."""
    oauth_client, secret, code, verifier = issued
    first = redeem(client, oauth_client, code, verifier, secret).json()
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_oauth_error(redeem(client, oauth_client, code, verifier, secret), 400, "invalid_grant")
    assert "revoked" in body["error_description"]
    assert api_status(client, first["access_token"]) == 401


def test_rfc9700_4_2_4_replay_with_bad_verifier_revokes_nothing(client, issued):
    oauth_client, secret, code, verifier = issued
    first = redeem(client, oauth_client, code, verifier, secret).json()
    wrong, _ = pkce_pair()
    assert_oauth_error(redeem(client, oauth_client, code, wrong, secret), 400, "invalid_grant")
    assert_oauth_error(redeem(client, oauth_client, code, "short", secret), 400, "invalid_request")
    assert_oauth_error(redeem(client, oauth_client, code, None, secret), 400, "invalid_grant")
    assert api_status(client, first["access_token"]) == 200
    assert refresh(client, first["refresh_token"], oauth_client.client_id, secret).status_code == 200


def test_rfc9700_4_2_4_replay_with_bad_client_auth_revokes_nothing(client, issued):
    oauth_client, secret, code, verifier = issued
    first = redeem(client, oauth_client, code, verifier, secret).json()
    assert_oauth_error(redeem(client, oauth_client, code, verifier, "not-the-secret"), 401, "invalid_client")
    assert_oauth_error(redeem(client, oauth_client, code, verifier), 401, "invalid_client")
    assert api_status(client, first["access_token"]) == 200


def test_rfc6749_4_1_3_code_is_bound_to_its_client(client, issued):
    oauth_client, secret, code, verifier = issued
    thief, thief_secret = make_client(client_name="Thief")
    before = row_counts()
    assert_oauth_error(redeem(client, thief, code, verifier, thief_secret), 400, "invalid_grant")
    assert row_counts() == before
    # The thief's attempt neither spent the code nor revoked anything.
    assert redeem(client, oauth_client, code, verifier, secret).status_code == 200


def test_rfc6749_4_1_3_code_is_bound_to_its_redirect_uri(client, user):
    oauth_client, secret = make_client(redirect_uris=[REDIRECT, "https://app.example.com/other"])
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    other = redeem(client, oauth_client, code, verifier, secret, redirect_uri="https://app.example.com/other")
    assert_oauth_error(other, 400, "invalid_grant")
    missing = redeem(client, oauth_client, code, verifier, secret, redirect_uri="")
    assert_oauth_error(missing, 400, "invalid_grant")
    assert redeem(client, oauth_client, code, verifier, secret).status_code == 200


def test_rfc7636_4_6_code_is_bound_to_its_challenge(client, user, confidential):
    """A verifier that is valid for another authorization does not redeem this code."""
    oauth_client, secret = confidential
    verifier_a, challenge_a = pkce_pair()
    verifier_b, challenge_b = pkce_pair()
    code_a = obtain_code(client, user, oauth_client, challenge=challenge_a)
    obtain_code(client, user, oauth_client, challenge=challenge_b)
    assert_oauth_error(redeem(client, oauth_client, code_a, verifier_b, secret), 400, "invalid_grant")
    assert redeem(client, oauth_client, code_a, verifier_a, secret).status_code == 200


def test_rfc8707_2_2_code_is_bound_to_its_resource(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    resource = "http://testserver/rest"
    code = obtain_code(client, user, oauth_client, challenge=challenge, extra={"resource": resource})
    other = redeem(client, oauth_client, code, verifier, secret, resource="http://testserver/admin")
    assert_oauth_error(other, 400, "invalid_target")
    body = redeem(client, oauth_client, code, verifier, secret).json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["aud"] == resource


def test_rfc8707_2_malformed_resource_at_redemption_is_invalid_target(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    before = row_counts()
    malformed = redeem(client, oauth_client, code, verifier, secret, resource="http://[::1")
    assert_oauth_error(malformed, 400, "invalid_target")
    assert row_counts() == before
    assert redeem(client, oauth_client, code, verifier, secret).status_code == 200


def test_rfc9700_4_14_2_access_revoked_during_redemption_issues_nothing(
    client, user, confidential, monkeypatch
):
    """The user revokes the app after the code was read and checked, before it is spent."""
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    checked = authorization_code.pkce.verify

    def verify_then_revoke(*args):
        checked(*args)
        consents.revoke_consent(user, oauth_client)

    monkeypatch.setattr(authorization_code.pkce, "verify", verify_then_revoke)
    body = assert_oauth_error(redeem(client, oauth_client, code, verifier, secret), 400, "invalid_grant")
    assert "expired" in body["error_description"]
    assert not TokenFamily.objects.exists()


def test_rfc6749_4_1_3_code_is_bound_to_its_user(client, user, issued):
    oauth_client, secret, code, verifier = issued
    body = redeem(client, oauth_client, code, verifier, secret).json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["sub"] == str(user.pk)


def test_rfc6749_4_1_3_code_of_a_deactivated_user_is_refused(client, user, issued):
    oauth_client, secret, code, verifier = issued
    user.is_active = False
    user.save()
    before = row_counts()
    assert_oauth_error(redeem(client, oauth_client, code, verifier, secret), 400, "invalid_grant")
    assert row_counts() == before


def test_rfc6749_10_5_code_is_stored_only_as_a_digest(client, issued):
    _, _, code, _ = issued
    row = AuthorizationCode.objects.get()
    assert code not in str(row.__dict__)
    assert len(row.code_digest) == 64
