"""
twenty-oauth mounted elsewhere than at the site's root, through HTTP: under a prefix, under a
proxy's script name (``FORCE_SCRIPT_NAME``) and inside ``i18n_patterns``. The discovery documents
answer where RFC 8414 §3.1 and RFC 9728 §3.1 put them, on the host's root, and list the endpoints
where they really are; a client that knows only the issuer runs the whole flow from them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import override_settings
from django.test.utils import override_script_prefix
from django.urls import reverse

from tests.conftest import REDIRECT, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "authorization_endpoint": "authorize",
    "token_endpoint": "token",
    "registration_endpoint": "register",
    "jwks_uri": "jwks",
    "revocation_endpoint": "revoke",
    "introspection_endpoint": "introspect",
    "userinfo_endpoint": "userinfo",
    "device_authorization_endpoint": "device_authorization",
}
LOCALE_MIDDLEWARE = [
    *settings.MIDDLEWARE[:2],
    "django.middleware.locale.LocaleMiddleware",
    *settings.MIDDLEWARE[2:],
]


def path_of(url: str, script_name: str = "") -> str:
    """What a proxy that strips ``script_name`` passes to the site as the path of ``url``."""
    path = urlsplit(url).path
    assert path.startswith(script_name), url
    return path.removeprefix(script_name)


def post_form(http, path: str, data: dict):
    return http.post(path, form(data), content_type="application/x-www-form-urlencoded")


def discover(http, location: str, issuer: str, endpoints_at: str) -> dict:
    """RFC 8414 §3: the document at ``location`` names ``issuer`` and the endpoints under ``endpoints_at``."""
    response = http.get(location)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    assert document["issuer"] == issuer
    for field, name in ENDPOINTS.items():
        assert document[field] == f"{endpoints_at}/oauth/{name}", field
    return document


def run_flow(http, user, document: dict, to_path: Callable[[str], str], login_path: str) -> None:
    """
    Register (RFC 7591), sign in and consent with PKCE (RFC 6749 §4.1, RFC 7636), redeem the
    code, call a DRF view and userinfo, follow their 401 challenges to the resource metadata
    (RFC 9728 §5.1), refresh (RFC 6749 §6) and revoke (RFC 7009): every URL from ``document``.
    """
    issuer = document["issuer"]
    response = http.post(
        to_path(document["registration_endpoint"]),
        json.dumps(
            {
                "client_name": "Mounted App",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "client_secret_post",
                "scope": "api profile",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    client_id, secret = response.json()["client_id"], response.json()["client_secret"]
    # RFC 7592 §3: the client's configuration endpoint, mounted with the others.
    configuration = response.json()["registration_client_uri"]
    assert configuration == f"{document['registration_endpoint']}/{client_id}"
    management = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['registration_access_token']}"}
    read = http.get(to_path(configuration), **management)
    assert read.status_code == 200, read.content
    assert read.json()["registration_client_uri"] == configuration
    assert read.json()["client_id"] == client_id

    verifier, challenge = pkce_pair()
    authorize = to_path(document["authorization_endpoint"])
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "api profile",
        "state": "mounted",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = http.get(authorize, params)
    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert login.path == login_path
    # Back to the consent page, with the script name and every prefix in it.
    action = urlsplit(document["authorization_endpoint"]).path
    assert urlsplit(query_of(response["Location"])["next"]).path == action

    http.force_login(user)
    page = http.get(authorize, params)
    assert page.status_code == 200
    assert f'action="{action}"'.encode() in page.content
    response = http.post(authorize, {"request": page.context["signed_request"], "allow": "1"})
    assert response.status_code == 302
    granted = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT + "?")
    assert granted["state"] == "mounted" and granted["iss"] == issuer

    token = to_path(document["token_endpoint"])
    client_auth = {"client_id": client_id, "client_secret": secret}
    exchange = {
        "grant_type": "authorization_code",
        "code": granted["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **client_auth,
    }
    response = post_form(http, token, exchange)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "api profile"
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}

    # The host's own DRF view and the userinfo endpoint: 401 names the resource's metadata.
    for path in ("/rest/companies", to_path(document["userinfo_endpoint"])):
        refused = http.get(path)
        assert refused.status_code == 401
        challenge_header = refused["WWW-Authenticate"]
        assert challenge_header.startswith('Bearer resource_metadata="')
        metadata_url = challenge_header.split('"')[1]
        assert urlsplit(metadata_url).netloc == urlsplit(issuer).netloc
        resource = http.get(urlsplit(metadata_url).path)
        assert resource.status_code == 200, metadata_url
        assert resource.json()["resource"] == issuer
        assert resource.json()["authorization_servers"] == [issuer]
        assert resource.json()["jwks_uri"] == document["jwks_uri"]
        assert http.get(path, **bearer).status_code == 200
    assert http.get(to_path(document["userinfo_endpoint"]), **bearer).json()["sub"] == str(user.pk)
    # The user's applications page, beside the endpoints, posts back to itself.
    apps_url = document["authorization_endpoint"].removesuffix("/authorize") + "/apps"
    apps = http.get(to_path(apps_url))
    assert apps.status_code == 200
    assert b"Mounted App" in apps.content
    assert f'action="{urlsplit(apps_url).path}"'.encode() in apps.content
    keys = http.get(to_path(document["jwks_uri"]))
    assert keys.status_code == 200 and keys.json()["keys"]

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **client_auth}
    response = post_form(http, token, refresh)
    assert response.status_code == 200, response.content
    renewed = response.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]

    revoke = {"token": renewed["refresh_token"], **client_auth}
    response = post_form(http, to_path(document["revocation_endpoint"]), revoke)
    assert response.status_code == 200 and response.json() == {}
    refused = http.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {renewed['access_token']}")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]

    # RFC 7592 §2.3: the client deletes itself where its registration answer said.
    assert http.delete(to_path(configuration), **management).status_code == 204
    gone = http.get(to_path(configuration), **management)
    assert gone.status_code == 401
    assert gone["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert post_form(http, token, refresh).status_code == 401


# --- under a prefix -------------------------------------------------------------------------

PREFIXED = {"ISSUER": "http://testserver/auth"}


@override_settings(ROOT_URLCONF="tests.mounts.prefix", TWENTY_OAUTH=PREFIXED)
def test_rfc8414_3_1_under_a_prefix_discovery_is_at_the_root_and_lists_the_prefixed_endpoints(client):
    discover(
        client,
        "/.well-known/oauth-authorization-server/auth",
        "http://testserver/auth",
        "http://testserver/auth",
    )
    # Another issuer's path is not this server's.
    assert client.get("/.well-known/oauth-authorization-server/other").status_code == 404
    resource = client.get("/.well-known/oauth-protected-resource/auth")
    assert resource.status_code == 200
    assert resource.json() == {
        "resource": "http://testserver/auth",
        "authorization_servers": ["http://testserver/auth"],
        "scopes_supported": ["api", "profile"],
        "bearer_methods_supported": ["header"],
        "jwks_uri": "http://testserver/auth/oauth/jwks",
    }
    # The endpoints answer under the prefix, and only there.
    assert client.post("/auth/oauth/token").status_code == 400
    assert client.post("/oauth/token").status_code == 404


@override_settings(ROOT_URLCONF="tests.mounts.prefix", TWENTY_OAUTH=PREFIXED)
def test_the_whole_flow_under_a_prefix(client, user):
    document = discover(
        client,
        "/.well-known/oauth-authorization-server/auth",
        "http://testserver/auth",
        "http://testserver/auth",
    )
    run_flow(client, user, document, path_of, "/accounts/login/")


@override_settings(ROOT_URLCONF="tests.mounts.prefix", TWENTY_OAUTH=PREFIXED)
def test_the_two_includes_keep_reverse_unambiguous(client, user):
    assert reverse("twenty_oauth:token") == "/auth/oauth/token"
    assert reverse("twenty_oauth:apps") == "/auth/oauth/apps"
    assert (
        reverse("twenty_oauth_discovery:server-metadata", kwargs={"path": "auth"})
        == "/.well-known/oauth-authorization-server/auth"
    )
    client.force_login(user)
    apps = client.get("/auth/oauth/apps")
    assert apps.status_code == 200
    assert b"You have not authorized any application." in apps.content


# --- behind a proxy that passes a script name -------------------------------------------------


@override_settings(
    ROOT_URLCONF="tests.mounts.prefix",
    FORCE_SCRIPT_NAME="/proxy",
    TWENTY_OAUTH={"ISSUER": "http://testserver/proxy/auth"},
)
@override_script_prefix("/proxy/")  # what a WSGI server does with FORCE_SCRIPT_NAME; the test client does not
def test_the_whole_flow_behind_a_proxy_script_name(client, user):
    """
    The proxy serves the site under ``/proxy`` and strips it; it forwards the host's
    ``/.well-known/`` as it is. The advertised URLs carry the script name.
    """
    document = discover(
        client,
        "/.well-known/oauth-authorization-server/proxy/auth",
        "http://testserver/proxy/auth",
        "http://testserver/proxy/auth",
    )
    run_flow(client, user, document, lambda url: path_of(url, "/proxy"), "/proxy/accounts/login/")


# --- inside i18n_patterns ---------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.mounts.i18n", MIDDLEWARE=LOCALE_MIDDLEWARE)
def test_the_whole_flow_inside_i18n_patterns(client, user):
    document = discover(
        client, "/.well-known/oauth-authorization-server", "http://testserver", "http://testserver/en"
    )
    run_flow(client, user, document, path_of, "/accounts/login/")


@override_settings(ROOT_URLCONF="tests.mounts.i18n", MIDDLEWARE=LOCALE_MIDDLEWARE)
def test_every_client_reads_the_same_document_whatever_its_language(client, user, public):
    english = client.get("/.well-known/oauth-authorization-server").json()
    french = client.get("/.well-known/oauth-authorization-server", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert french == english
    assert english["token_endpoint"] == "http://testserver/en/oauth/token"
    # The consent page answers in the other languages too, at their own prefix.
    _, challenge = pkce_pair()
    client.force_login(user)
    page = client.get(
        "/fr/oauth/authorize",
        {
            "client_id": public.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    assert page["Content-Language"] == "fr"
    assert "Public App demande l’accès à votre compte" in page.content.decode()
    assert b'action="/fr/oauth/authorize"' in page.content


@override_settings(ROOT_URLCONF="tests.mounts.i18n_unprefixed", MIDDLEWARE=LOCALE_MIDDLEWARE)
def test_i18n_patterns_without_a_prefix_for_the_default_language(client, user):
    document = discover(
        client, "/.well-known/oauth-authorization-server", "http://testserver", "http://testserver"
    )
    run_flow(client, user, document, path_of, "/accounts/login/")
