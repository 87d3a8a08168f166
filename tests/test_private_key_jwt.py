"""
private_key_jwt client authentication (RFC 7523 §2.2, RFC 7521 §4.2) through HTTP: registration
with ``jwks`` or ``jwks_uri``, client credentials and code exchange signed by the client's key,
revocation and introspection, keys fetched from a ``jwks_uri`` (served over TLS from 127.0.0.1 by
a CA made for the run), client ID metadata documents with keys, the admin and the command.
The abuse cases are in ``tests/security/test_private_key_jwt.py``.
"""

from __future__ import annotations

import json
from io import StringIO
from types import SimpleNamespace

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import path, reverse

from interop.documents import DocumentServer, make_certificates
from tests.conftest import ISSUER, REDIRECT, api_status, authorize, form, pkce_pair, query_of, token_request
from tests.factories import ClientKey, UserFactory, make_client, make_key_client
from tests.test_admin import add_form
from tests.test_resource_indicators import McpView
from twenty_oauth import signals
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_ENDPOINT = f"{ISSUER}/oauth/token"
MCP = f"{ISSUER}/mcp"

urlpatterns = [path("mcp", McpView.as_view()), *__import__("example_project.urls").urls.urlpatterns]


def register(http, metadata: dict):
    return http.post("/oauth/register", json.dumps(metadata), content_type="application/json")


def signed(key: ClientKey, client_id: str, **claims) -> dict[str, str]:
    """The RFC 7521 §4.2 parameters of an assertion signed by ``key``."""
    return {"client_assertion_type": JWT_BEARER, "client_assertion": key.assertion(client_id, **claims)}


def client_credentials(http, key: ClientKey, signer: str, *, claims: dict | None = None, **extra):
    """
    A client-credentials request signed by ``key`` for the client ``signer`` (the assertion's
    ``claims`` changed), with the parameters ``extra``.
    """
    assertion = signed(key, signer, **(claims or {}))
    return token_request(http, {"grant_type": "client_credentials", "scope": "api", **assertion, **extra})


def machine(key: ClientKey | None = None, **metadata):
    """A staff-made client_credentials client that signs with ``key``."""
    return make_key_client(
        key, client_name="Machine", grant_types=["client_credentials"], redirect_uris=[], **metadata
    )


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# --- registration (RFC 7591 §2) ---------------------------------------------------------------


def test_registration_with_jwks_issues_no_secret(client):
    key = ClientKey("ES256")
    response = register(
        client,
        {
            "client_name": "Signed App",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks": key.jwks(),
        },
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["token_endpoint_auth_signing_alg"] == "ES256"
    assert body["jwks"] == key.jwks()
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert "jwks_uri" not in body
    row = Client.objects.get(client_id=body["client_id"])
    assert row.client_secret_digest == "" and not row.is_public and not row.uses_secret
    assert row.jwks == key.jwks()


def test_registration_with_jwks_uri(client):
    response = register(
        client,
        {
            "client_name": "Remote keys",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": "https://agent.example.com/.well-known/jwks.json",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["jwks_uri"] == "https://agent.example.com/.well-known/jwks.json"
    assert "jwks" not in body and "client_secret" not in body


def test_keys_sent_by_a_client_with_a_secret_are_not_kept(client):
    response = register(
        client,
        {
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "client_secret_basic",
            "jwks": ClientKey().jwks(),
            "token_endpoint_auth_signing_alg": "ES256",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert "client_secret" in body
    assert not {"jwks", "jwks_uri", "token_endpoint_auth_signing_alg"} & set(body)
    assert Client.objects.get().jwks is None


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"])
def test_each_accepted_algorithm_registers_and_authenticates(client, alg):
    key = ClientKey(alg)
    service, _ = machine(key, token_endpoint_auth_signing_alg=alg)
    response = client_credentials(client, key, service.client_id)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert api_status(client, response.json()["access_token"]) == 200


def test_an_ed25519_key_verifies_both_names_of_its_algorithm_unless_its_jwk_says_one(client):
    """RFC 9864 §2.2: Ed25519 is EdDSA on that curve; a JWK's alg (RFC 7517 §4.4) narrows it."""
    polymorphic, specified = ClientKey("EdDSA"), ClientKey("Ed25519")
    service, _ = machine(polymorphic, jwks=polymorphic.jwks(specified))
    assert client_credentials(client, polymorphic, service.client_id).status_code == 200
    assert client_credentials(client, specified, service.client_id).status_code == 200
    as_exported = {**specified.public_jwk, "alg": "Ed25519", "key_ops": ["verify"], "ext": True}
    webcrypto, _ = machine(specified, jwks={"keys": [as_exported]})
    assert client_credentials(client, specified, webcrypto.client_id).status_code == 200
    same_key_as_eddsa = ClientKey("EdDSA", kid=specified.kid, private_key=specified.private_key)
    assert client_credentials(client, same_key_as_eddsa, webcrypto.client_id).status_code == 401


# --- client credentials, code exchange, revocation, introspection ----------------------------


def test_client_credentials_with_a_signed_assertion(client):
    service, key = machine()
    response = client_credentials(client, key, service.client_id)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "api"
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    claims = claims_of(body["access_token"])
    assert claims["client_id"] == claims["sub"] == service.client_id
    assert api_status(client, body["access_token"]) == 200
    assert Client.objects.get(pk=service.pk).last_used_at is not None


@pytest.mark.parametrize("audience", [ISSUER, TOKEN_ENDPOINT, [TOKEN_ENDPOINT, "https://other.example"]])
def test_audience_may_be_the_issuer_or_the_token_endpoint(client, audience):
    service, key = machine()
    response = client_credentials(client, key, service.client_id, claims={"audience": audience})
    assert response.status_code == 200, response.content


def test_audience_follows_the_configured_issuer(client):
    service, key = machine()
    with override_settings(TWENTY_OAUTH={"ISSUER": "https://auth.example.com"}):
        issuer = client_credentials(
            client, key, service.client_id, claims={"audience": "https://auth.example.com"}
        )
        endpoint = client_credentials(
            client, key, service.client_id, claims={"audience": "https://auth.example.com/oauth/token"}
        )
        request_origin = client_credentials(client, key, service.client_id, claims={"audience": ISSUER})
    assert issuer.status_code == 200 and endpoint.status_code == 200
    assert request_origin.status_code == 401


def test_client_id_parameter_may_be_sent_and_must_match(client):
    service, key = machine()
    same = client_credentials(client, key, service.client_id, client_id=service.client_id)
    assert same.status_code == 200
    other, _ = machine()
    mismatch = client_credentials(client, key, service.client_id, client_id=other.client_id)
    assert mismatch.status_code == 401
    assert mismatch.json()["error"] == "invalid_client"


def test_the_key_named_by_kid_verifies_and_without_kid_any_key_does(client):
    first, second = ClientKey("ES256"), ClientKey("RS256")
    service, _ = machine(first, jwks=first.jwks(second))
    assert client_credentials(client, second, service.client_id).status_code == 200
    anonymous = ClientKey("RS256", kid=None, private_key=second.private_key)
    assert client_credentials(client, anonymous, service.client_id).status_code == 200


def test_registered_signing_algorithm_is_the_only_one_accepted(client):
    es, rs = ClientKey("ES256"), ClientKey("RS256")
    service, _ = machine(es, jwks=es.jwks(rs), token_endpoint_auth_signing_alg="ES256")
    assert client_credentials(client, es, service.client_id).status_code == 200
    refused = client_credentials(client, rs, service.client_id)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_a_self_registered_client_needs_an_administrator_for_client_credentials(client):
    key = ClientKey()
    service, _ = make_key_client(
        key, source=Client.Source.DYNAMIC, grant_types=["client_credentials"], redirect_uris=[]
    )
    refused = client_credentials(client, key, service.client_id)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    Client.objects.filter(pk=service.pk).update(client_credentials_allowed=True)
    assert client_credentials(client, key, service.client_id).status_code == 200


def test_authorization_code_exchange_with_a_signed_assertion(client, user):
    app, key = make_key_client(client_name="Signed web app")
    verifier, challenge = pkce_pair()
    code = query_of(authorize(client, user, app, challenge=challenge)["Location"])["code"]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    unsigned = token_request(client, {**grant, "client_id": app.client_id})
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "invalid_client"
    response = token_request(client, {**grant, **signed(key, app.client_id)})
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert claims_of(tokens["access_token"])["sub"] == str(user.pk)
    refreshed = token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            **signed(key, app.client_id),
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    assert api_status(client, refreshed.json()["access_token"]) == 200


def test_introspection_and_revocation_with_a_signed_assertion(client):
    service, key = machine()
    token = client_credentials(client, key, service.client_id).json()["access_token"]
    form_type = "application/x-www-form-urlencoded"
    introspected = client.post(
        "/oauth/introspect",
        form({"token": token, **signed(key, service.client_id, audience=TOKEN_ENDPOINT)}),
        content_type=form_type,
    )
    assert introspected.status_code == 200, introspected.content
    assert introspected.json()["active"] is True
    assert introspected.json()["client_id"] == service.client_id
    revoked = client.post(
        "/oauth/revoke", form({"token": token, **signed(key, service.client_id)}), content_type=form_type
    )
    assert revoked.status_code == 200, revoked.content
    assert api_status(client, token) == 401
    unsigned = client.post(
        "/oauth/revoke", form({"token": token, "client_id": service.client_id}), content_type=form_type
    )
    assert unsigned.status_code == 401 and unsigned["WWW-Authenticate"].startswith("Basic")


def test_failures_are_audited_without_the_assertion(client):
    service, key = machine()
    assertion = key.assertion(service.client_id, audience="https://elsewhere.example")
    sent = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    signals.client_authentication_failed.connect(receiver)
    try:
        response = token_request(
            client,
            {
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            },
        )
    finally:
        signals.client_authentication_failed.disconnect(receiver)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert sent == [
        {
            "signal": signals.client_authentication_failed,
            "client_id": service.client_id,
            "reason": "aud is not this server",
            "ip": "127.0.0.1",
        }
    ]
    assert assertion not in str(sent)


# --- MCP: a machine gets a client-credentials token for /mcp ----------------------------------


@override_settings(ROOT_URLCONF=__name__)
def test_a_machine_client_gets_a_token_for_mcp(client):
    service, key = machine()
    response = client_credentials(client, key, service.client_id, resource=MCP)
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert claims_of(token)["aud"] == MCP
    answer = client.get("/mcp", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200
    assert answer.json() == {"client_id": service.client_id, "aud": [MCP]}
    assert client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


# --- keys at a jwks_uri -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def documents(tls):
    with DocumentServer(0, tls) as server:
        yield server


@pytest.fixture
def local(settings, monkeypatch, tls):
    """The site trusts the run's CA and may fetch from 127.0.0.1, as only a test may."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    settings.TWENTY_OAUTH = {"CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES": True}
    return settings


@pytest.fixture
def cache_clock(monkeypatch):
    """The cache's clock (entries expire by it), moved forward by a test rather than waited for."""
    from django.core.cache.backends import base, locmem

    offset = [0.0]
    real = locmem.time.time
    moved = SimpleNamespace(time=lambda: real() + offset[0])
    monkeypatch.setattr(base, "time", moved)  # when an entry expires
    monkeypatch.setattr(locmem, "time", moved)  # whether it has
    return lambda seconds: offset.__setitem__(0, offset[0] + seconds)


_paths = iter(range(10**6))


def publish_keys(documents, *keys: ClientKey, **kwargs) -> tuple[str, str]:
    """Publish a JWK Set at a fresh path; its URL and path."""
    where = f"keys/{next(_paths)}.json"
    url = documents.publish(where, {"keys": [key.public_jwk for key in keys]}, **kwargs)
    return url, "/" + where


def test_keys_are_fetched_from_jwks_uri_once_and_cached(client, local, documents):
    key = ClientKey("RS256")
    url, where = publish_keys(documents, key)
    service, _ = machine(key, jwks_uri=url)
    for _ in range(3):
        response = client_credentials(client, key, service.client_id)
        assert response.status_code == 200, response.content
    assert documents.hits(where) == 1


def test_a_set_served_no_store_is_still_kept_a_minute(client, local, documents, cache_clock):
    key = ClientKey()
    url, where = publish_keys(documents, key, headers={"Cache-Control": "no-store"})
    service, _ = machine(key, jwks_uri=url)
    assert client_credentials(client, key, service.client_id).status_code == 200
    assert client_credentials(client, key, service.client_id).status_code == 200
    assert documents.hits(where) == 1
    cache_clock(61)
    assert client_credentials(client, key, service.client_id).status_code == 200
    assert documents.hits(where) == 2


def test_an_unknown_kid_fetches_the_set_again_at_most_once_a_minute(client, local, documents, cache_clock):
    old, new, newer = ClientKey(), ClientKey(), ClientKey()
    url, where = publish_keys(documents, old, headers={"Cache-Control": "max-age=3600"})
    service, _ = machine(old, jwks_uri=url)
    assert client_credentials(client, old, service.client_id).status_code == 200
    assert documents.hits(where) == 1
    # The client rotates: its new key is published; the set the server holds does not have it.
    documents.publish(where, new.jwks(old))
    cache_clock(61)
    assert client_credentials(client, new, service.client_id).status_code == 200
    assert documents.hits(where) == 2
    # Rotated again within the minute: not fetched again, refused; allowed a minute later.
    documents.publish(where, newer.jwks(new))
    refused = client_credentials(client, newer, service.client_id)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert documents.hits(where) == 2
    cache_clock(61)
    assert client_credentials(client, newer, service.client_id).status_code == 200
    assert documents.hits(where) == 3
    # The old key left the set that the server now holds.
    assert client_credentials(client, old, service.client_id).status_code == 401


def test_a_kid_that_is_known_but_badly_signed_fetches_nothing(client, local, documents, cache_clock):
    key = ClientKey()
    url, where = publish_keys(documents, key)
    service, _ = machine(key, jwks_uri=url)
    assert client_credentials(client, key, service.client_id).status_code == 200
    cache_clock(61)
    impostor = ClientKey(kid=key.kid)
    assert client_credentials(client, impostor, service.client_id).status_code == 401
    assert documents.hits(where) == 1


def test_an_unusable_jwks_uri_is_invalid_client_and_not_cached(client, local, documents):
    key = ClientKey()
    url, where = publish_keys(documents, key, status=404)
    service, _ = machine(key, jwks_uri=url)
    gone = client_credentials(client, key, service.client_id)
    assert gone.status_code == 401
    assert gone.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    documents.publish(where, key.jwks())
    assert client_credentials(client, key, service.client_id).status_code == 200
    documents.publish(where, {"keys": [key.private_jwk]})  # a set with a private key is no set
    later = ClientKey()
    assert client_credentials(client, later, service.client_id).status_code == 401


# --- client ID metadata documents with keys ---------------------------------------------------


def test_a_metadata_document_client_signs_its_code_exchange(client, user, local, documents):
    key = ClientKey("ES256")
    where = f"clients/{next(_paths)}.json"
    client_id = documents.url(where)
    documents.publish(
        where,
        {
            "client_id": client_id,
            "client_name": "Signed document app",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": key.jwks(),
        },
    )
    verifier, challenge = pkce_pair()
    code = query_of(
        authorize(client, user, SimpleNamespace(client_id=client_id), challenge=challenge)["Location"]
    )["code"]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    unsigned = token_request(client, {**grant, "client_id": client_id})
    assert unsigned.status_code == 401
    response = token_request(client, {**grant, **signed(key, client_id)})
    assert response.status_code == 200, response.content
    row = Client.objects.get(client_id=client_id)
    assert row.source == Client.Source.METADATA_DOCUMENT and not row.is_public
    assert row.jwks == key.jwks()


def test_a_metadata_document_for_private_key_jwt_without_keys_is_refused(client, user, local, documents):
    where = f"clients/{next(_paths)}.json"
    client_id = documents.url(where)
    documents.publish(
        where,
        {
            "client_id": client_id,
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
        },
    )
    client.force_login(user)
    page = client.get(
        "/oauth/authorize", {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT}
    )
    assert page.status_code == 400 and "Location" not in page
    assert "jwks" in page.content.decode()
    assert not Client.objects.filter(client_id=client_id).exists()


# --- the admin and the command ----------------------------------------------------------------


@pytest.fixture
def admin_http(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_admin_accepts_a_pasted_jwks(admin_http):
    key = ClientKey()
    response = admin_http.post(
        reverse("admin:twenty_oauth_client_add"),
        add_form(
            token_endpoint_auth_method="private_key_jwt",
            grant_types_choice=["client_credentials"],
            redirect_uris_text="",
            jwks_text=json.dumps(key.jwks()),
            token_endpoint_auth_signing_alg="ES256",
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    # No page of secrets follows: the client has none.
    assert response["Location"] == reverse("admin:twenty_oauth_client_changelist")
    row = Client.objects.get()
    assert row.jwks == key.jwks() and row.client_secret_digest == ""
    assert row.token_endpoint_auth_signing_alg == "ES256"
    assert client_credentials(admin_http, key, row.client_id).status_code == 200
    page = admin_http.get(reverse("admin:twenty_oauth_client_change", args=[row.pk])).content.decode()
    assert key.public_jwk["x"] in page  # the pasted set is shown again to be edited


def test_admin_accepts_a_jwks_uri_and_refuses_a_private_key(admin_http):
    with_uri = admin_http.post(
        reverse("admin:twenty_oauth_client_add"),
        add_form(
            token_endpoint_auth_method="private_key_jwt",
            jwks_uri="https://billing.example.com/jwks.json",
        ),
    )
    assert with_uri.status_code == 302
    assert Client.objects.get().jwks_uri == "https://billing.example.com/jwks.json"
    for text, message in (
        (json.dumps({"keys": [ClientKey().private_jwk]}), "private member"),
        ("{not json", "Not valid JSON"),
        ("", "private_key_jwt needs jwks or jwks_uri"),
    ):
        refused = admin_http.post(
            reverse("admin:twenty_oauth_client_add"),
            add_form(token_endpoint_auth_method="private_key_jwt", jwks_text=text),
        )
        assert refused.status_code == 200
        assert message in refused.content.decode()
    assert Client.objects.count() == 1


def test_admin_switching_a_client_to_private_key_jwt_drops_its_secret(admin_http):
    oauth_client, secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    key = ClientKey()
    response = admin_http.post(
        reverse("admin:twenty_oauth_client_change", args=[oauth_client.pk]),
        add_form(
            client_name="Switched",
            token_endpoint_auth_method="private_key_jwt",
            grant_types_choice=["client_credentials"],
            redirect_uris_text="",
            jwks_text=json.dumps(key.jwks()),
        ),
    )
    assert response.status_code == 302
    row = Client.objects.get()
    assert row.client_secret_digest == "" and row.client_secret_expires_at is None
    old_secret = token_request(
        admin_http,
        {"grant_type": "client_credentials", "client_id": row.client_id, "client_secret": secret},
    )
    assert old_secret.status_code == 401
    assert client_credentials(admin_http, key, row.client_id).status_code == 200


def test_command_creates_a_client_from_a_jwks_file(tmp_path):
    key = ClientKey("EdDSA")
    keys_file = tmp_path / "jwks.json"
    keys_file.write_text(json.dumps(key.jwks()))
    out = StringIO()
    call_command(
        "oauth_create_client",
        "--name",
        "Nightly sync",
        "--grant-type",
        "client_credentials",
        "--jwks-file",
        str(keys_file),
        "--auth-signing-alg",
        "EdDSA",
        "--json",
        stdout=out,
    )
    body = json.loads(out.getvalue())
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["token_endpoint_auth_signing_alg"] == "EdDSA"
    assert body["jwks"] == key.jwks()
    assert "client_secret" not in body


def test_command_creates_a_client_with_a_jwks_uri():
    out = StringIO()
    call_command(
        "oauth_create_client",
        "--name",
        "Agent",
        "--grant-type",
        "client_credentials",
        "--jwks-uri",
        "https://agent.example.com/jwks.json",
        stdout=out,
    )
    text = out.getvalue()
    assert "private_key_jwt" in text and "client_secret" not in text
    assert Client.objects.get().jwks_uri == "https://agent.example.com/jwks.json"


def test_command_refuses_a_private_key_file_and_an_unreadable_one(tmp_path):
    keys_file = tmp_path / "jwks.json"
    keys_file.write_text(json.dumps({"keys": [ClientKey().private_jwk]}))
    with pytest.raises(CommandError, match="private member"):
        call_command("oauth_create_client", "--jwks-file", str(keys_file), stdout=StringIO())
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("oauth_create_client", "--jwks-file", str(tmp_path / "missing.json"), stdout=StringIO())
    keys_file.write_text("{")
    with pytest.raises(CommandError, match="not a JSON file"):
        call_command("oauth_create_client", "--jwks-file", str(keys_file), stdout=StringIO())
    assert not Client.objects.exists()
