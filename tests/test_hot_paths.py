"""
What the request paths' shortcuts must not change: a token accepted once is still checked in
full the next time (expiry, revocation, the user's and the client's state), and the lookups
that skip the ORM's query building read the current rows.
"""

import time
from types import SimpleNamespace

import pytest
from django.db.models.signals import post_init
from django.utils import timezone

from tests.conftest import ISSUER, basic, code_tokens, token_request
from twenty_oauth.models import AccessToken, Client
from twenty_oauth.protocol import verification

pytestmark = pytest.mark.django_db


def api(http, token):
    return http.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_accepted_token_is_refused_once_expired(client, user, confidential, monkeypatch):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret)
    assert api(client, body["access_token"]).status_code == 200
    later = time.time() + body["expires_in"] + 1
    monkeypatch.setattr("twenty_oauth.protocol.verification.time", SimpleNamespace(time=lambda: later))
    response = api(client, body["access_token"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_accepted_token_is_refused_once_its_user_is_deactivated(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert api(client, token).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api(client, token).status_code == 401


def test_accepted_token_is_refused_once_its_client_is_deactivated(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    assert api(client, token).status_code == 200
    Client.objects.filter(pk=oauth_client.pk).update(is_active=False)
    assert api(client, token).status_code == 401


def test_client_credentials_token_is_accepted_and_revoked_with_its_client(client, service):
    oauth_client, secret = service
    response = token_request(
        client,
        {"grant_type": "client_credentials", "scope": "api"},
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert api(client, token).status_code == 200
    Client.objects.filter(pk=oauth_client.pk).update(is_active=False)
    assert api(client, token).status_code == 401


def test_refresh_after_a_lookup_sees_the_current_row(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": oauth_client.client_id,
        "client_secret": secret,
    }
    first = token_request(client, data)
    assert first.status_code == 200
    # The same refresh token again: spent, so the whole family ends, the new tokens included.
    replay = token_request(client, data)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert api(client, first.json()["access_token"]).status_code == 401


def test_verified_token_cache_keeps_at_most_its_size(client, user, confidential, monkeypatch):
    monkeypatch.setattr(verification, "_verified", {})
    monkeypatch.setattr(verification, "VERIFIED_CACHE_SIZE", 2)
    oauth_client, secret = confidential
    for _ in range(5):
        token = code_tokens(client, user, oauth_client, secret)["access_token"]
        assert api(client, token).status_code == 200
        assert 1 <= len(verification._verified) <= 2


def test_a_token_longer_than_the_limit_is_checked_every_time_and_not_kept(
    client, user, confidential, monkeypatch
):
    monkeypatch.setattr(verification, "_verified", {})
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    monkeypatch.setattr(verification, "VERIFIED_CACHE_TOKEN_CHARS", len(token) - 1)
    assert api(client, token).status_code == 200
    assert api(client, token).status_code == 200
    assert verification._verified == {}


def test_the_check_builds_its_rows_as_django_builds_them(client, user, confidential):
    # The bearer check stores the row's values as Model.from_db would, without Model.__init__.
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    record = verification.verify_access_token(token, issuer=ISSUER).record
    fresh = AccessToken.objects.select_related("client", "user").get(pk=record.pk)
    for found, expected in ((record, fresh), (record.user, fresh.user)):
        assert found._state.adding is False and found._state.db == "default"
        assert found.get_deferred_fields() == set()
        assert {f.attname: getattr(found, f.attname) for f in type(found)._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in type(expected)._meta.concrete_fields
        }
    assert record.client.get_deferred_fields() == {f.attname for f in Client._meta.concrete_fields} - {
        "id",
        *verification.BEARER_CLIENT_FIELDS,
    }
    assert record.client.redirect_uris == fresh.client.redirect_uris  # read when used
    # Saved, it is an UPDATE of its row: the check refuses the token it revoked.
    record.revoked_at = timezone.now()
    record.save(update_fields=["revoked_at"])
    assert AccessToken.objects.count() == 1
    assert api(client, token).status_code == 401


def test_a_post_init_receiver_sees_the_rows_of_the_check(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=AccessToken)
    post_init.connect(receiver, sender=type(user))
    try:
        assert api(client, token).status_code == 200
    finally:
        post_init.disconnect(receiver, sender=AccessToken)
        post_init.disconnect(receiver, sender=type(user))
    assert [type(instance) for instance in seen] == [AccessToken, type(user)]
    assert seen[0].jti == verification.decode_access_token(token, issuer=ISSUER)["jti"]
    assert seen[1].pk == user.pk
