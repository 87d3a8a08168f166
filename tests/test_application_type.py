"""
``application_type`` (OpenID Connect Dynamic Client Registration 1.0 §2) at registration and in
client ID metadata documents: stored, echoed, and the redirect URIs each type may use (RFC 8252
§7.1-§7.3 for native apps). Without it, registration is as it always was. What a type forbids
is in ``tests/security/test_application_type.py``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from interop.documents import DocumentServer, make_certificates
from tests.conftest import code_tokens, configure, metadata_of, pkce_pair
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db

WEB_REDIRECT = "https://app.example.com/callback"
NATIVE_REDIRECTS = [
    "http://127.0.0.1/callback",
    "http://[::1]:8080/callback",
    "http://localhost/callback",
    "com.example.app:/oauth2redirect",
]


def register(http, **metadata):
    metadata.setdefault("client_name", "Typed App")
    metadata.setdefault("token_endpoint_auth_method", "none")
    return http.post("/oauth/register", json.dumps(metadata), content_type="application/json")


# --- registration ------------------------------------------------------------------------------


def test_a_web_client_is_stored_and_echoed(client):
    uris = [WEB_REDIRECT, "https://b.example/cb", "https://10.1.2.3:8443/cb", "https://deadbeef.example/cb"]
    response = register(client, application_type="web", redirect_uris=uris)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["application_type"] == "web"
    assert body["redirect_uris"] == uris
    assert Client.objects.get(client_id=body["client_id"]).application_type == Client.ApplicationType.WEB


def test_a_native_client_uses_loopback_and_private_use_schemes(client):
    response = register(client, application_type="native", redirect_uris=NATIVE_REDIRECTS)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["application_type"] == "native"
    assert body["redirect_uris"] == NATIVE_REDIRECTS
    assert Client.objects.get(client_id=body["client_id"]).application_type == Client.ApplicationType.NATIVE


@pytest.mark.parametrize("value", [None, "absent"])
def test_without_application_type_registration_is_as_before(client, value):
    """Older clients send no application_type: the same URIs pass and the answer has no new member."""
    metadata = {"redirect_uris": [WEB_REDIRECT, *NATIVE_REDIRECTS]}
    if value is None:
        metadata["application_type"] = None  # null is an absent member
    response = register(client, **metadata)
    assert response.status_code == 201, response.content
    body = response.json()
    assert "application_type" not in body
    assert set(body) == {
        "client_id",
        "client_id_issued_at",
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "registration_access_token",
        "registration_client_uri",
    }
    assert Client.objects.get(client_id=body["client_id"]).application_type == ""


def test_a_client_without_redirect_uris_may_declare_a_type(client):
    response = register(
        client,
        application_type="web",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_basic",
    )
    assert response.status_code == 201, response.content
    assert response.json()["application_type"] == "web"


def test_a_native_client_redeems_a_code_on_any_loopback_port(client, user):
    """RFC 8252 §7.3: the app listens on whatever port the system gives it."""
    response = register(client, application_type="native", redirect_uris=["http://127.0.0.1/callback"])
    assert response.status_code == 201, response.content
    native = Client.objects.get(client_id=response.json()["client_id"])
    tokens = code_tokens(client, user, native, redirect_uri="http://127.0.0.1:51234/callback")
    assert tokens["token_type"] == "Bearer"
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert api.status_code == 200


def test_rfc7592_2_2_an_update_is_held_to_the_same_rules(client):
    """A PUT at the client configuration endpoint replaces the metadata under registration's rules."""
    answer = register(client, application_type="native", redirect_uris=["http://127.0.0.1/callback"]).json()
    uri, token = answer["registration_client_uri"], answer["registration_access_token"]
    read = configure(client, "get", uri, token)
    assert read.status_code == 200 and read.json()["application_type"] == "native"

    refused = configure(client, "put", uri, token, {**metadata_of(read.json()), "application_type": "web"})
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"] == "invalid_redirect_uri"
    assert Client.objects.get(client_id=answer["client_id"]).application_type == "native"

    # Left out, it is not given any more (RFC 7592 §2.2: the body replaces the metadata).
    untyped = {k: v for k, v in metadata_of(read.json()).items() if k != "application_type"}
    updated = configure(client, "put", uri, token, untyped)
    assert updated.status_code == 200, updated.content
    assert "application_type" not in updated.json()
    assert Client.objects.get(client_id=answer["client_id"]).application_type == ""


# --- client ID metadata documents --------------------------------------------------------------


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    with DocumentServer(0, make_certificates(tmp_path_factory.mktemp("tls"))) as server:
        yield server


@pytest.fixture
def served(documents, settings, monkeypatch):
    """The document server, trusted for TLS (a CA made for the run) and reachable on 127.0.0.1."""
    monkeypatch.setenv("SSL_CERT_FILE", str(documents.tls.ca_file))
    settings.TWENTY_OAUTH = {"CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES": True}
    return documents


_paths = iter(range(10**6))


def publish(documents, **metadata) -> str:
    path = f"typed/{next(_paths)}.json"
    url = documents.url(path)
    documents.publish(
        path,
        {
            "client_id": url,
            "client_name": "Document App",
            "token_endpoint_auth_method": "none",
            **metadata,
        },
    )
    return url


def authorize_page(http, user, client_id: str, redirect_uri: str):
    http.force_login(user)
    _, challenge = pkce_pair()
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return http.get("/oauth/authorize?" + urlencode(query))


def assert_refused_page(response, *fragments: str) -> None:
    assert response.status_code == 400, response.content
    assert "Location" not in response
    html = response.content.decode()
    for fragment in fragments:
        assert fragment in html, html


def test_a_native_client_may_claim_an_https_redirect_through_its_document(client, user, served):
    """RFC 8252 §7.2: the document's host answers for the app that claims the https URI."""
    client_id = publish(served, application_type="native", redirect_uris=[WEB_REDIRECT])
    page = authorize_page(client, user, client_id, WEB_REDIRECT)
    assert page.status_code == 200, page.content
    assert "Document App" in page.content.decode()
    row = Client.objects.get(client_id=client_id)
    assert row.source == Client.Source.METADATA_DOCUMENT
    assert row.application_type == Client.ApplicationType.NATIVE


def test_a_document_follows_the_rules_of_its_type(client, user, served):
    client_id = publish(served, application_type="web", redirect_uris=["http://127.0.0.1/callback"])
    response = authorize_page(client, user, client_id, "http://127.0.0.1/callback")
    assert_refused_page(response, "metadata document cannot be used", "web client")
    assert not Client.objects.filter(client_id=client_id).exists()


def test_a_document_with_an_unknown_type_is_refused(client, user, served):
    client_id = publish(served, application_type="tablet", redirect_uris=[WEB_REDIRECT])
    response = authorize_page(client, user, client_id, WEB_REDIRECT)
    assert_refused_page(response, "metadata document cannot be used", "application_type")
    assert not Client.objects.filter(client_id=client_id).exists()


def test_a_document_without_a_type_is_as_before(client, user, served):
    client_id = publish(served, redirect_uris=[WEB_REDIRECT, "http://127.0.0.1/callback"])
    assert authorize_page(client, user, client_id, "http://127.0.0.1:40001/callback").status_code == 200
    assert Client.objects.get(client_id=client_id).application_type == ""
