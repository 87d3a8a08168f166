"""OpenID Connect client metadata (Registration §2, RP-Initiated Logout §3.1), however a client is made."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import REDIRECT, register
from tests.factories import UserFactory
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db

LOGOUT = "https://app.example.com/signed-out"


def test_registration_keeps_the_openid_metadata_registration_2(client):
    body = register(
        client,
        id_token_signed_response_alg="RS256",
        post_logout_redirect_uris=[LOGOUT],
        default_max_age=600,
        require_auth_time=True,
    )
    assert body["id_token_signed_response_alg"] == "RS256"
    assert body["post_logout_redirect_uris"] == [LOGOUT]
    assert body["default_max_age"] == 600
    assert body["require_auth_time"] is True
    row = Client.objects.get(client_id=body["client_id"])
    assert (row.id_token_signed_response_alg, row.post_logout_redirect_uris) == ("RS256", [LOGOUT])
    assert (row.default_max_age, row.require_auth_time) == (600, True)


def test_registration_without_openid_metadata_lists_none_of_it(client):
    body = register(client)
    for name in ("id_token_signed_response_alg", "post_logout_redirect_uris", "default_max_age"):
        assert name not in body


@pytest.mark.parametrize(
    "metadata",
    [
        {"id_token_signed_response_alg": "none"},
        {"id_token_signed_response_alg": "HS256"},
        {"default_max_age": "600"},
        {"default_max_age": -1},
        {"default_max_age": True},
        {"require_auth_time": "yes"},
    ],
)
def test_bad_openid_metadata_is_invalid_client_metadata(client, metadata):
    response = client.post(
        "/oauth/register",
        json.dumps({"redirect_uris": [REDIRECT], **metadata}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    "uris",
    [["javascript:alert(1)"], ["https://app.example.com/out#frag"], ["http://evil.example/"], LOGOUT],
)
def test_bad_post_logout_redirect_uri_is_refused(client, uris):
    response = client.post(
        "/oauth/register",
        json.dumps({"redirect_uris": [REDIRECT], "post_logout_redirect_uris": uris}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert not Client.objects.exists()


def test_command_creates_an_openid_client(capsys):
    call_command(
        "oauth_create_client",
        "--name",
        "Relying party",
        "--redirect-uri",
        REDIRECT,
        "--id-token-alg",
        "RS256",
        "--post-logout-redirect-uri",
        LOGOUT,
        "--default-max-age",
        "300",
        "--require-auth-time",
    )
    row = Client.objects.get(client_name="Relying party")
    assert row.id_token_signed_response_alg == "RS256"
    assert row.post_logout_redirect_uris == [LOGOUT]
    assert (row.default_max_age, row.require_auth_time) == (300, True)


def test_admin_form_sets_the_openid_metadata(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        reverse("admin:twenty_oauth_client_add"),
        {
            "client_name": "RP",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types_choice": ["authorization_code"],
            "redirect_uris_text": REDIRECT,
            "id_token_signed_response_alg": "RS256",
            "post_logout_redirect_uris_text": LOGOUT,
            "default_max_age": "120",
            "require_auth_time": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 200, response.content
    row = Client.objects.get(client_name="RP")
    assert row.id_token_signed_response_alg == "RS256"
    assert row.post_logout_redirect_uris == [LOGOUT]
    assert (row.default_max_age, row.require_auth_time) == (120, True)


def test_admin_form_refuses_a_bad_post_logout_uri(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        reverse("admin:twenty_oauth_client_add"),
        {
            "client_name": "RP",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types_choice": ["authorization_code"],
            "redirect_uris_text": REDIRECT,
            "post_logout_redirect_uris_text": "javascript:alert(1)",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert not Client.objects.filter(client_name="RP").exists()
    assert "post_logout_redirect_uris_text" in response.context["adminform"].form.errors


def test_admin_finds_the_user_behind_a_sub(client):
    from tests.factories import SubjectFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    subject = SubjectFactory()
    SubjectFactory()
    client.force_login(staff)
    response = client.get(reverse("admin:twenty_oauth_subject_changelist"), {"q": subject.sub})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [subject]
    assert client.get(reverse("admin:twenty_oauth_subject_add")).status_code == 403
