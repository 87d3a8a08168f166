"""
Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document) through HTTP: the
documents are served over TLS from 127.0.0.1 by a CA made for the run, which the server is told
to trust (``SSL_CERT_FILE``), with the private-address guard lifted unless a test checks it.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest

from interop.documents import DocumentServer, make_certificates
from tests.conftest import REDIRECT, authorize, pkce_pair, query_of, token_request
from twenty_oauth.models import Client
from twenty_oauth.protocol import https_fetch, metadata_documents, ratelimit

LOCAL = {"CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES": True}


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def documents(tls):
    with DocumentServer(0, tls) as server:
        yield server


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch, tls):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))


@pytest.fixture
def local(settings):
    settings.TWENTY_OAUTH = dict(LOCAL)
    return settings


_names = iter(range(10**6))


def publish(documents, document=None, *, path=None, **kwargs) -> str:
    """Publish a valid document (or ``document``) at a fresh path; returns its URL, the client_id."""
    path = path or f"clients/{next(_names)}.json"
    url = documents.url(path)
    if document is None:
        document = {
            "client_id": url,
            "client_name": "Document App",
            "client_uri": "https://app.example.com",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
    elif callable(document):
        document = document(url)
    documents.publish(path, document, **kwargs)
    return url


def authorize_page(http, user, client_id, **params):
    http.force_login(user)
    _, challenge = pkce_pair()
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }
    return http.get("/oauth/authorize?" + urlencode(query))


def assert_refused_page(response, *fragments: str) -> None:
    """The error page: 400, nothing redirected, the reason shown."""
    assert response.status_code == 400, response.content
    assert "Location" not in response
    html = response.content.decode()
    for fragment in fragments:
        assert fragment in html, html


def assert_timed_out_within(http, user, client_id: str, seconds: float) -> None:
    """The authorization page refuses ``client_id`` as timed out, in less than ``seconds``."""
    started = time.monotonic()
    response = authorize_page(http, user, client_id)
    elapsed = time.monotonic() - started
    assert_refused_page(response, "timed out")
    assert elapsed < seconds


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_server_metadata_advertises_support(client, settings):
    body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["client_id_metadata_document_supported"] is True
    settings.TWENTY_OAUTH = {"CLIENT_METADATA_DOCUMENTS": False}
    body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["client_id_metadata_document_supported"] is False


def test_whole_journey_with_a_metadata_document(client, user, local, documents):
    client_id = publish(documents, headers={"Cache-Control": "max-age=600"})
    verifier, challenge = pkce_pair()
    oauth_client = SimpleNamespace(client_id=client_id)

    page = authorize_page(client, user, client_id, code_challenge=challenge)
    assert page.status_code == 200, page.content
    html = page.content.decode()
    assert "Document App" in html
    # The consent page names the host that vouches for the client.
    assert "127.0.0.1" in html and "client-document-host" in html

    response = authorize(client, user, oauth_client, challenge=challenge, state="s2")
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT + "?") and params["state"] == "s2"

    row = Client.objects.get(client_id=client_id)
    assert row.source == Client.Source.METADATA_DOCUMENT
    assert row.is_public and row.client_name == "Document App" and row.redirect_uris == [REDIRECT]

    tokens = token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.content
    body = tokens.json()
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.status_code == 200

    refreshed = token_request(
        client,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": client_id},
    )
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()
    revoked = client.post(
        "/oauth/revoke",
        urlencode({"token": new["refresh_token"], "client_id": client_id}),
        content_type="application/x-www-form-urlencoded",
    )
    assert revoked.status_code == 200
    api = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {new['access_token']}")
    assert api.status_code == 401
    # max-age=600: one fetch served the consent page, the code, and every token request.
    assert documents.hits(path_of(client_id)) == 1


def test_document_changes_are_followed(client, user, local, documents):
    client_id = publish(documents, headers={"Cache-Control": "no-store"})
    assert authorize_page(client, user, client_id).status_code == 200

    def renamed(url):
        return {"client_id": url, "client_name": "Renamed App", "redirect_uris": [REDIRECT]}

    publish(documents, renamed, path=path_of(client_id), headers={"Cache-Control": "no-store"})
    page = authorize_page(client, user, client_id)
    assert page.status_code == 200 and "Renamed App" in page.content.decode()
    assert Client.objects.get(client_id=client_id).client_name == "Renamed App"
    # no-store: fetched for each request.
    assert documents.hits(path_of(client_id)) == 2


def test_client_id_must_equal_the_url_exactly(client, user, local, documents):
    client_id = publish(documents, lambda url: {"client_id": url + "?x=1", "redirect_uris": [REDIRECT]})
    assert_refused_page(authorize_page(client, user, client_id), "client_id is not exactly its URL")
    client_id = publish(documents, lambda url: {"client_id": url.upper(), "redirect_uris": [REDIRECT]})
    assert_refused_page(authorize_page(client, user, client_id), "client_id is not exactly its URL")
    assert not Client.objects.exists()


def test_redirect_uri_must_be_listed(client, user, local, documents):
    client_id = publish(documents)
    response = authorize_page(client, user, client_id, redirect_uri="https://evil.example.com/callback")
    assert_refused_page(response, "redirect_uri is not registered")


def test_secret_based_auth_methods_and_secrets_are_refused(client, user, local, documents):
    for extra in (
        {"token_endpoint_auth_method": "client_secret_basic"},
        {"token_endpoint_auth_method": "client_secret_post"},
        {"token_endpoint_auth_method": "client_secret_jwt"},
        {"client_secret": "s3cr3t"},
    ):
        client_id = publish(
            documents, lambda url, extra=extra: {"client_id": url, "redirect_uris": [REDIRECT], **extra}
        )
        assert_refused_page(authorize_page(client, user, client_id), "metadata document cannot be used")
    assert not Client.objects.exists()


def test_invalid_metadata_is_refused_like_a_registration(client, user, local, documents):
    for document in (
        lambda url: {"client_id": url, "redirect_uris": ["javascript:alert(1)"]},
        lambda url: {"client_id": url, "redirect_uris": [REDIRECT + "#frag"]},
        lambda url: {"client_id": url, "redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]},
        lambda url: {"client_id": url, "redirect_uris": [REDIRECT], "scope": "unknown-scope"},
        lambda url: {"client_id": url, "redirect_uris": [REDIRECT], "client_uri": "https://[::1"},
        lambda url: {"client_id": url, "redirect_uris": ["https://[::1/cb"]},
        lambda url: {"client_id": url},
    ):
        assert_refused_page(authorize_page(client, user, publish(documents, document)), "cannot be used")
    assert not Client.objects.exists()


def test_unknown_grant_types_and_scopes_are_left_out(client, user, local, documents):
    client_id = publish(
        documents,
        lambda url: {
            "client_id": url,
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
            "scope": "api calendar",
        },
    )
    assert authorize_page(client, user, client_id, scope="api").status_code == 200
    row = Client.objects.get(client_id=client_id)
    assert row.scope == "api" and "urn:ietf:params:oauth:grant-type:token-exchange" not in row.grant_types


def test_redirects_are_not_followed(client, user, local, documents):
    target = publish(documents)
    client_id = publish(
        documents, lambda url: b"", status=302, headers={"Location": target, "Content-Type": "text/html"}
    )
    assert_refused_page(authorize_page(client, user, client_id), "redirects are not followed")
    assert documents.hits(path_of(target)) == 0


def test_documents_over_5_kb_are_refused(client, user, local, documents):
    def padded(size):
        def document(url):
            base = {"client_id": url, "redirect_uris": [REDIRECT], "client_name": ""}
            base["client_name"] = "x" * 150
            base["software_id"] = ""
            raw = json.dumps(base)
            base["pad"] = "y" * (size - len(raw) - len(', "pad": ""'))
            body = json.dumps(base).encode()
            assert len(body) == size
            return body

        return document

    exactly = publish(documents, padded(5 * 1024))
    assert authorize_page(client, user, exactly).status_code == 200
    for send_length in (True, False):
        too_big = publish(documents, padded(5 * 1024 + 1), send_length=send_length)
        assert_refused_page(authorize_page(client, user, too_big), "larger than 5120 bytes")


def test_responses_that_are_not_a_json_document_are_refused(client, user, local, documents):
    cases = [
        (dict(status=404), "HTTP 404"),
        (dict(headers={"Content-Type": "text/html"}), "not served as application/json"),
    ]
    for kwargs, reason in cases:
        assert_refused_page(authorize_page(client, user, publish(documents, **kwargs)), reason)
    not_json = publish(documents, lambda url: b"{not json")
    assert_refused_page(authorize_page(client, user, not_json), "not valid JSON")
    array = publish(documents, lambda url: b"[]")
    assert_refused_page(authorize_page(client, user, array), "must be a JSON object")
    missing = documents.url("nowhere.json")
    assert_refused_page(authorize_page(client, user, missing), "HTTP 404")


@pytest.mark.parametrize(
    "client_id",
    [
        "https://{authority}/a/../b.json",
        "https://{authority}/a/%2e%2e/b.json",
        "https://{authority}/./b.json",
        "https://user:pw@{authority}/b.json",
        "https://{authority}/",
        "https://{authority}/b.json#frag",
        "https://127.0.0.1:99999/b.json",
        "https://[::1/b.json",
        "https://[zz]/b.json",
    ],
)
def test_client_id_urls_the_draft_forbids_are_refused_unfetched(client, user, local, documents, client_id):
    client_id = client_id.format(authority=f"{documents.host}:{documents.port}")
    before = sum(p.hits for p in documents.documents.values())
    assert_refused_page(authorize_page(client, user, client_id), "metadata document cannot be used")
    assert sum(p.hits for p in documents.documents.values()) == before


def test_loopback_is_refused_without_the_test_setting(client, user, documents):
    for host in ("127.0.0.1", "localhost"):
        client_id = publish(documents).replace("127.0.0.1", host)
        response = authorize_page(client, user, client_id)
        assert_refused_page(response, "private or special-use address")
        assert documents.hits(path_of(client_id)) == 0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "2001:db8::1",
    ],
)
def test_special_use_addresses_are_not_public(address):
    assert not https_fetch.is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_global_addresses_are_public(address):
    assert https_fetch.is_public_address(ipaddress.ip_address(address))


def test_untrusted_certificate_is_refused(client, user, local, documents, monkeypatch, tmp_path):
    other = make_certificates(tmp_path / "other")
    monkeypatch.setenv("SSL_CERT_FILE", str(other.ca_file))
    assert_refused_page(
        authorize_page(client, user, publish(documents)), "TLS connection could not be verified"
    )


def test_a_silent_server_times_out(client, user, settings):
    settings.TWENTY_OAUTH = {**LOCAL, "CLIENT_METADATA_TIMEOUT": 1}
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        assert_timed_out_within(client, user, f"https://127.0.0.1:{port}/client.json", 3)
    finally:
        for connection, _ in accepted:
            connection.close()
        listener.close()


def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline(client, user, settings, tls):
    """Each byte comes well within the socket's timeout; the whole answer never would."""
    settings.TWENTY_OAUTH = {**LOCAL, "CLIENT_METADATA_TIMEOUT": 1}
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    done = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True) as stream:
            stream.recv(4096)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                try:
                    stream.sendall(bytes([byte]))
                except OSError:
                    return
                if done.wait(0.1):  # one byte every 0.1 s, until the test is over
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        assert_timed_out_within(client, user, f"https://127.0.0.1:{port}/client.json", 2.5)
    finally:
        done.set()
        listener.close()


def test_a_slow_name_server_is_cut_off_at_the_deadline(client, user, settings, monkeypatch):
    """The owner of the client_id's domain chooses its name server, and how slowly it answers."""
    settings.TWENTY_OAUTH = {**LOCAL, "CLIENT_METADATA_TIMEOUT": 1}
    release, answered = threading.Event(), threading.Event()

    def slow_lookup(*args, **kwargs):
        release.wait(10)  # the name server answers only once the request has given up
        answered.set()
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]

    monkeypatch.setattr(https_fetch.socket, "getaddrinfo", slow_lookup)
    try:
        assert_timed_out_within(client, user, "https://slow-dns.example/client.json", 2.5)
    finally:
        release.set()
    assert answered.wait(5)  # the lookup finished on its own thread, before the patch is undone


def test_token_endpoint_fetches_the_document_and_treats_the_client_as_public(client, user, local, documents):
    client_id = publish(documents, headers={"Cache-Control": "no-store"})
    verifier, challenge = pkce_pair()
    code = query_of(
        authorize(client, user, SimpleNamespace(client_id=client_id), challenge=challenge)["Location"]
    )["code"]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    # A secret from a client that cannot have one.
    with_secret = token_request(client, {**grant, "client_secret": "guess"})
    assert with_secret.status_code == 401 and with_secret.json()["error"] == "invalid_client"
    # The document is gone: the client cannot authenticate any more.
    documents.publish(path_of(client_id), b"gone", status=410, headers={"Content-Type": "text/plain"})
    gone = token_request(client, grant)
    assert gone.status_code == 401
    assert gone.json()["error"] == "invalid_client"
    assert "HTTP 410" in gone.json()["error_description"]
    assert gone["WWW-Authenticate"].startswith("Basic")


def test_deactivated_document_client_is_refused(client, user, local, documents):
    client_id = publish(documents)
    assert authorize_page(client, user, client_id).status_code == 200
    Client.objects.filter(client_id=client_id).update(is_active=False)
    assert_refused_page(authorize_page(client, user, client_id), "not registered")
    assert Client.objects.get(client_id=client_id).is_active is False


def test_disabled_setting_treats_https_client_ids_as_unknown(client, user, settings, documents):
    settings.TWENTY_OAUTH = {**LOCAL, "CLIENT_METADATA_DOCUMENTS": False}
    client_id = publish(documents)
    assert_refused_page(authorize_page(client, user, client_id), "not registered")
    assert documents.hits(path_of(client_id)) == 0


def test_a_failure_is_remembered_for_a_while(client, user, local, documents, monkeypatch):
    """The same error, unfetched, for CLIENT_METADATA_FAILURE_CACHE_SECONDS; then a new fetch."""
    now = [1000.0]
    monkeypatch.setattr(metadata_documents._failures, "clock", lambda: now[0])
    client_id = publish(documents, status=500, headers={"Cache-Control": "max-age=600"})
    assert_refused_page(authorize_page(client, user, client_id), "HTTP 500")
    publish(documents, path=path_of(client_id))
    now[0] += 59
    assert_refused_page(authorize_page(client, user, client_id), "HTTP 500")
    assert documents.hits(path_of(client_id)) == 1
    now[0] += 1
    assert authorize_page(client, user, client_id).status_code == 200
    assert documents.hits(path_of(client_id)) == 2


def test_fetches_from_one_host_are_limited(client, user, settings, documents, monkeypatch):
    """With failures forgotten at once, each request naming a failing document is a fetch."""
    # One instant throughout: the minute's window cannot end halfway.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    forgetful = {**LOCAL, "CLIENT_METADATA_FAILURE_CACHE_SECONDS": 0}
    settings.TWENTY_OAUTH = {**forgetful, "CLIENT_METADATA_FETCH_LIMIT": "3/m"}
    cached = publish(documents, headers={"Cache-Control": "max-age=600"})
    assert authorize_page(client, user, cached).status_code == 200
    failing = publish(documents, status=500)
    for _ in range(2):
        assert_refused_page(authorize_page(client, user, failing), "HTTP 500")
    # The host's three fetches are spent: nothing more is fetched from it within the minute.
    too_many = "Too many metadata documents were fetched from 127.0.0.1"
    assert_refused_page(authorize_page(client, user, failing), too_many)
    assert documents.hits(path_of(failing)) == 2
    another = publish(documents)
    refused = token_request(client, {"grant_type": "client_credentials", "client_id": another})
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert too_many in refused.json()["error_description"]
    assert documents.hits(path_of(another)) == 0
    # A document in the cache is no fetch: its client goes on working.
    assert authorize_page(client, user, cached).status_code == 200
    assert documents.hits(path_of(cached)) == 1
    settings.TWENTY_OAUTH = {**forgetful, "CLIENT_METADATA_FETCH_LIMIT": None}
    assert_refused_page(authorize_page(client, user, failing), "HTTP 500")
    assert documents.hits(path_of(failing)) == 3


def test_nothing_is_fetched_before_the_visitor_signs_in(client, user, local, documents):
    """
    An anonymous request naming a document goes to the login page, unfetched, its redirect URI
    unchecked (it needs the document); the document is fetched once the visitor comes back
    signed in through the login page's ``next``.
    """
    _, challenge = pkce_pair()
    client_id = publish(documents, headers={"Cache-Control": "max-age=600"})

    def authorize_url(redirect_uri: str) -> str:
        query = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return "/oauth/authorize?" + urlencode(query)

    unlisted, listed = authorize_url("https://elsewhere.example/cb"), authorize_url(REDIRECT)
    for url in (unlisted, listed, listed):
        response = client.get(url)
        assert response.status_code == 302
        assert query_of(response["Location"]) == {"next": url}
    assert documents.hits(path_of(client_id)) == 0
    assert not Client.objects.exists()

    client.force_login(user)
    page = client.get(query_of(response["Location"])["next"])
    assert page.status_code == 200, page.content
    assert "Document App" in page.content.decode()
    # Signed in, the redirect URI is checked against the document (cached by now).
    assert_refused_page(client.get(unlisted), "redirect_uri is not registered")
    assert documents.hits(path_of(client_id)) == 1


def test_a_malformed_document_url_is_refused_before_sign_in(client, db, documents):
    """Only the URL's form is checked for an anonymous visitor: a bad one gets the error page."""
    url = documents.url("a/../b.json")
    before = sum(p.hits for p in documents.documents.values())
    response = client.get("/oauth/authorize?" + urlencode({"client_id": url, "response_type": "code"}))
    assert_refused_page(response, "must not contain . or .. path segments")
    assert sum(p.hits for p in documents.documents.values()) == before


@pytest.mark.parametrize(
    "header, seconds",
    [
        ("max-age=600", 600),
        ("public, max-age=10", metadata_documents.MIN_CACHE_SECONDS),
        ("max-age=999999999", 86400),
        ("no-store", 0),
        ("no-cache", 0),
        ("max-age=0", 0),
        ("max-age=soon", 0),
        ("", metadata_documents.DEFAULT_CACHE_SECONDS),
    ],
)
def test_cache_lifetime_follows_cache_control_within_bounds(header, seconds):
    assert metadata_documents.cache_seconds(header) == seconds


def test_deploy_check_warns_when_private_addresses_are_allowed(settings):
    from twenty_oauth.checks import check_deployment, check_settings

    assert "twenty_oauth.W008" not in {w.id for w in check_deployment()}
    settings.TWENTY_OAUTH = dict(LOCAL)
    assert "twenty_oauth.W008" in {w.id for w in check_deployment()}
    assert check_settings() == []
    settings.TWENTY_OAUTH = {"CLIENT_METADATA_TIMEOUT": "5", "CLIENT_METADATA_DOCUMENTS": "yes"}
    assert [e.id for e in check_settings()] == ["twenty_oauth.E003", "twenty_oauth.E003"]


def test_rfc9449_s5_2_dpop_bound_access_tokens_in_a_document(client, user, local, documents):
    """A document may ask for DPoP-bound tokens: its token requests without a proof are refused."""
    from tests.dpop import DPoPKey

    def bound(url):
        return {
            "client_id": url,
            "client_name": "Document App",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": True,
        }

    client_id = publish(documents, bound)
    verifier, challenge = pkce_pair()
    response = authorize(client, user, SimpleNamespace(client_id=client_id), challenge=challenge)
    assert response.status_code == 302, response.content
    assert Client.objects.get(client_id=client_id).dpop_bound_access_tokens is True
    data = {
        "grant_type": "authorization_code",
        "code": query_of(response["Location"])["code"],
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    refused = token_request(client, data)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    accepted = token_request(client, data, HTTP_DPOP=DPoPKey().proof())
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["token_type"] == "DPoP"
