"""
A client-credentials token is a grant by itself (RFC 6749 §4.4.3: no refresh token descends from
it): it belongs to no token family, and everything that ends a client's grants ends it through
its own row, as it ends the families of a user's grants. Tokens issued with a family of their
own, as earlier versions did, are ended the same way.
"""

import pytest
from django.urls import reverse

from tests.conftest import api_status, basic, code_tokens, form, token_request
from tests.factories import AccessTokenFactory, TokenFamilyFactory, UserFactory, make_client
from twenty_oauth import writes
from twenty_oauth.models import AccessToken, Client, Consent, TokenFamily

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(db):
    return make_client(grant_types=["client_credentials"], redirect_uris=[], client_credentials_allowed=True)


def own_token(http, oauth_client, secret) -> str:
    response = token_request(
        http,
        {"grant_type": "client_credentials", "scope": "api"},
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def run_action(http, action: str, oauth_client):
    return http.post(
        reverse("admin:twenty_oauth_client_changelist"),
        {"action": action, "index": 0, "select_across": 0, "_selected_action": [oauth_client.pk]},
    )


@pytest.mark.parametrize("path", ["the backend's", "the ORM's"])
def test_rfc6749_4_4_3_the_token_belongs_to_no_family(client, service, monkeypatch, path):
    if path == "the ORM's":
        monkeypatch.setattr(writes, "_in_statements", writes._through_the_orm)
        monkeypatch.setattr(writes, "_in_one_statement", writes._through_the_orm)
    oauth_client, secret = service
    token = own_token(client, oauth_client, secret)
    record = AccessToken.objects.get()
    assert record.family_id is None and record.client_id == oauth_client.pk and record.user_id is None
    assert not TokenFamily.objects.exists()
    assert api_status(client, token) == 200


def test_rfc7009_2_1_revoking_it_ends_it(client, service):
    oauth_client, secret = service
    token = own_token(client, oauth_client, secret)
    other = own_token(client, oauth_client, secret)
    response = client.post(
        "/oauth/revoke",
        form({"token": token}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert response.status_code == 200
    assert api_status(client, token) == 401
    assert api_status(client, other) == 200  # each token is its own grant


def test_revoking_every_token_of_a_client_in_admin_ends_its_own_and_its_users_grants(client, user):
    oauth_client, secret = make_client(
        grant_types=["authorization_code", "client_credentials"], client_credentials_allowed=True
    )
    users_grant = code_tokens(client, user, oauth_client, secret)["access_token"]
    own = own_token(client, oauth_client, secret)
    bystander, bystander_secret = make_client(
        grant_types=["client_credentials"], redirect_uris=[], client_credentials_allowed=True
    )
    untouched = own_token(client, bystander, bystander_secret)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = run_action(client, "revoke_tokens", oauth_client)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "Revoked 2 grants." in page.content.decode()  # the user's family and the client's token
    assert api_status(client, own) == 401
    assert api_status(client, users_grant) == 401
    assert api_status(client, untouched) == 200
    assert not AccessToken.objects.filter(client=oauth_client, revoked_at__isnull=True).exists()


def test_ending_a_users_grants_leaves_the_clients_own_tokens(client, user):
    oauth_client, secret = make_client(
        grant_types=["authorization_code", "client_credentials"], client_credentials_allowed=True
    )
    users_grant = code_tokens(client, user, oauth_client, secret)["access_token"]
    own = own_token(client, oauth_client, secret)
    client.force_login(user)
    consent = Consent.objects.get(user=user, client=oauth_client)
    response = client.post(reverse("twenty_oauth:apps"), {"consent": consent.pk})
    assert response.status_code == 303
    assert api_status(client, users_grant) == 401
    assert api_status(client, own) == 200  # the user never granted it: it is the client's own


def test_withdrawing_client_credentials_ends_tokens_with_and_without_a_family(client):
    # A client that registered itself uses the grant only while an administrator allows it.
    oauth_client, secret = make_client(
        source=Client.Source.DYNAMIC,
        grant_types=["client_credentials"],
        redirect_uris=[],
        client_credentials_allowed=True,
    )
    own = own_token(client, oauth_client, secret)
    # A token issued with a family of its own, as client credentials once were.
    older = AccessTokenFactory(
        family=TokenFamilyFactory(client=oauth_client, user=None), client=oauth_client, user=None
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:twenty_oauth_client_change", args=[oauth_client.pk]),
        {
            "client_name": oauth_client.client_name,
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types_choice": ["client_credentials"],
            "redirect_uris_text": "",
            "scope": "",
            "client_uri": "",
            "logo_uri": "",
            "tos_uri": "",
            "policy_uri": "",
            "contacts_text": "",
            "is_active": "on",
            "_save": "Save",
        },  # client_credentials_allowed left unticked
    )
    assert response.status_code == 302
    assert not Client.objects.get(pk=oauth_client.pk).client_credentials_allowed
    assert api_status(client, own) == 401
    older.refresh_from_db()
    assert older.revoked_at is not None and older.family.revoked_at is not None
