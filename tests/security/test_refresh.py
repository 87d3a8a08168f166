"""
Refresh tokens: rotated on every use, with reuse detection that ends the whole family
(RFC 9700 §4.14.2), bound to their client (RFC 6749 §10.4), never widening scope (RFC 6749 §6),
and ended when the user withdraws consent or is deactivated.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.conftest import code_tokens, form
from tests.factories import make_client
from tests.security.conftest import api_status, assert_oauth_error, introspect, refresh, row_counts
from twenty_oauth.models import Consent, RefreshToken, TokenFamily

pytestmark = pytest.mark.django_db


def assert_family_dead(http, oauth_client, secret, *bodies) -> None:
    """No access token of ``bodies`` opens the API and no refresh token of them refreshes."""
    for body in bodies:
        assert api_status(http, body["access_token"]) == 401
        response = refresh(http, body["refresh_token"], oauth_client.client_id, secret)
        assert_oauth_error(response, 400, "invalid_grant")
    assert TokenFamily.objects.filter(revoked_at__isnull=True).count() == 0


def test_rfc9700_4_14_2_refresh_token_is_rotated_and_spent(client, tokens_of):
    oauth_client, secret, first = tokens_of
    second = refresh(client, first["refresh_token"], oauth_client.client_id, secret).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert RefreshToken.objects.filter(used_at__isnull=False).count() == 1
    assert api_status(client, second["access_token"]) == 200


def test_rfc9700_4_14_2_reuse_of_a_spent_refresh_token_revokes_the_family(client, tokens_of):
    oauth_client, secret, first = tokens_of
    second = refresh(client, first["refresh_token"], oauth_client.client_id, secret).json()
    # The attacker (or the victim, whoever is second) replays the spent token.
    body = assert_oauth_error(
        refresh(client, first["refresh_token"], oauth_client.client_id, secret), 400, "invalid_grant"
    )
    assert "revoked" in body["error_description"]
    assert_family_dead(client, oauth_client, secret, first, second)


def test_rfc6749_10_4_refresh_token_is_bound_to_its_client(client, tokens_of):
    oauth_client, secret, first = tokens_of
    thief, thief_secret = make_client(client_name="Thief")
    before = row_counts()
    assert_oauth_error(
        refresh(client, first["refresh_token"], thief.client_id, thief_secret), 400, "invalid_grant"
    )
    assert row_counts() == before
    assert refresh(client, first["refresh_token"], oauth_client.client_id, secret).status_code == 200


def test_rfc6749_10_4_public_client_cannot_refresh_a_confidential_clients_token(client, tokens_of, public):
    _, _, first = tokens_of
    response = refresh(client, first["refresh_token"], public.client_id)
    assert_oauth_error(response, 400, "invalid_grant")


def test_rfc6749_6_refresh_scope_never_widens(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret, scope="api")
    before = row_counts()
    for scope in ["api profile", "profile", "admin"]:
        response = refresh(client, first["refresh_token"], oauth_client.client_id, secret, scope=scope)
        assert_oauth_error(response, 400, "invalid_scope")
    assert row_counts() == before
    # The refused attempts did not spend the token.
    assert refresh(client, first["refresh_token"], oauth_client.client_id, secret).json()["scope"] == "api"


def test_rfc6749_6_narrowed_refresh_keeps_the_grant_not_more(client, user, confidential):
    oauth_client, secret = confidential
    first = code_tokens(client, user, oauth_client, secret, scope="api profile")
    narrow = refresh(client, first["refresh_token"], oauth_client.client_id, secret, scope="profile").json()
    assert narrow["scope"] == "profile"
    assert api_status(client, narrow["access_token"]) == 403  # the API needs "api"
    back = refresh(
        client, narrow["refresh_token"], oauth_client.client_id, secret, scope="api profile"
    ).json()
    assert back["scope"] == "api profile"


def test_rfc9700_4_14_2_admin_revoked_consent_ends_the_family(client, user, tokens_of):
    oauth_client, secret, first = tokens_of
    staff = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    admin = type(client)()
    admin.force_login(staff)
    consent = Consent.objects.get(user=user, client=oauth_client)
    response = admin.post(
        "/admin/twenty_oauth/consent/", {"action": "revoke", "_selected_action": [consent.pk]}
    )
    assert response.status_code == 302
    assert_family_dead(client, oauth_client, secret, first)


def test_rfc9700_4_14_2_consent_marked_revoked_ends_the_family(client, user, tokens_of):
    """However the consent was withdrawn, the next refresh ends the family it was granted for."""
    oauth_client, secret, first = tokens_of
    Consent.objects.filter(user=user, client=oauth_client).update(revoked_at=timezone.now())
    body = assert_oauth_error(
        refresh(client, first["refresh_token"], oauth_client.client_id, secret), 400, "invalid_grant"
    )
    assert "consent" in body["error_description"]
    assert api_status(client, first["access_token"]) == 401
    assert TokenFamily.objects.get().revoked_at is not None


def test_rfc9700_4_14_2_deactivated_user_ends_the_family(client, user, tokens_of):
    oauth_client, secret, first = tokens_of
    user.is_active = False
    user.save()
    assert_oauth_error(
        refresh(client, first["refresh_token"], oauth_client.client_id, secret), 400, "invalid_grant"
    )
    assert TokenFamily.objects.get().revoked_at is not None
    user.is_active = True
    user.save()
    # Reactivating the account does not bring the family back.
    assert_family_dead(client, oauth_client, secret, first)


def test_rfc7009_2_1_revoking_a_refresh_token_ends_the_family(client, tokens_of):
    oauth_client, secret, first = tokens_of
    second = refresh(client, first["refresh_token"], oauth_client.client_id, secret).json()
    response = client.post(
        "/oauth/revoke",
        form(
            {"token": second["refresh_token"], "client_id": oauth_client.client_id, "client_secret": secret}
        ),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert_family_dead(client, oauth_client, secret, second)
    assert introspect(client, second["access_token"], oauth_client.client_id, secret) == {"active": False}


def test_rfc6749_5_2_expired_refresh_token_is_refused(client, tokens_of):
    oauth_client, secret, first = tokens_of
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = refresh(client, first["refresh_token"], oauth_client.client_id, secret)
    body = assert_oauth_error(response, 400, "invalid_grant")
    assert "expired" in body["error_description"]
