"""
Redirect URI rules: what may be registered (RFC 9700 §4.1.3, RFC 8252 §7-8) and how a request's
URI is matched — the exact string, with only a loopback URI's port left free (RFC 8252 §7.3).
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit

import pytest

from tests.conftest import query_of
from tests.factories import make_client
from tests.security.conftest import assert_error_page, assert_oauth_error, register, row_counts
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db


def authorize_url(client_id: str, redirect_uri: str | None, **extra) -> str:
    params = {"client_id": client_id, "response_type": "code", "state": "s", **extra}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    return "/oauth/authorize?" + urlencode(params)


def public_client(redirect_uris: list[str]) -> Client:
    client, _ = make_client(token_endpoint_auth_method="none", redirect_uris=redirect_uris)
    return client


def approve(http, user, client_id: str, redirect_uri: str | None):
    """Load the consent page for ``redirect_uri`` and approve it; return the final redirect."""
    from tests.conftest import pkce_pair

    http.force_login(user)
    _, challenge = pkce_pair()
    page = http.get(
        authorize_url(client_id, redirect_uri, code_challenge=challenge, code_challenge_method="S256")
    )
    assert page.status_code == 200, page.content[:300]
    return http.post("/oauth/authorize", {"request": page.context["signed_request"], "allow": "1"})


def refused_at_registration(http, uri: str) -> dict:
    before = row_counts()
    response = register(http, {"redirect_uris": [uri], "token_endpoint_auth_method": "none"})
    body = assert_oauth_error(response, 400, "invalid_redirect_uri")
    assert row_counts() == before
    return body


def test_rfc9700_4_1_3_redirect_uri_exact_string_match_no_normalisation(client, user):
    registered = "https://app.example.com/callback?tenant=1"
    oauth_client = public_client([registered])
    client.force_login(user)
    near_misses = [
        "https://app.example.com/callback?tenant=1&x=1",  # extra query parameter
        "https://app.example.com/callback?tenant=2",
        "https://app.example.com/callback/?tenant=1",  # trailing slash
        "https://APP.example.com/callback?tenant=1",  # host case
        "HTTPS://app.example.com/callback?tenant=1",  # scheme case
        "https://app.example.com:443/callback?tenant=1",  # default port spelt out
        "https://app.example.com/%63allback?tenant=1",  # percent-encoded letter
        "https://app.example.com/callback/../callback?tenant=1",  # dot segments
        "https://evil.app.example.com/callback?tenant=1",  # subdomain
        "https://app.example.com.evil.example/callback?tenant=1",  # suffix
        "https://app.example.com/callback?tenant=1#frag",  # fragment
    ]
    for uri in near_misses:
        assert_error_page(client.get(authorize_url(oauth_client.client_id, uri)))
    assert client.get(authorize_url(oauth_client.client_id, registered)).status_code == 302


@pytest.mark.parametrize(
    "registered,requested",
    [
        ("http://127.0.0.1/callback", "http://127.0.0.1:51234/callback"),
        ("http://[::1]/callback", "http://[::1]:8080/callback"),
        ("http://localhost:3000/callback", "http://localhost:62000/callback"),
    ],
    ids=["ipv4", "ipv6", "localhost"],
)
def test_rfc8252_7_3_loopback_redirect_uri_matches_any_port(client, user, registered, requested):
    oauth_client = public_client([registered])
    response = approve(client, user, oauth_client.client_id, requested)
    assert response.status_code == 302
    # The response goes to the port the native app is listening on, not the registered one.
    assert response["Location"].startswith(requested + "?")
    assert "code" in query_of(response["Location"])


def test_rfc8252_7_3_loopback_only_the_port_is_free(client, user):
    oauth_client = public_client(["http://127.0.0.1/callback"])
    client.force_login(user)
    for uri in [
        "http://127.0.0.1:5000/other",
        "http://127.0.0.1:5000/callback/",
        "http://127.0.0.1:5000/callback?x=1",
        "HTTP://127.0.0.1:5000/callback",
        "http://localhost:5000/callback",  # another loopback host is another URI
        "http://[::1]:5000/callback",
        "https://127.0.0.1:5000/callback",
        "http://127.0.0.1:5000@evil.example/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:65536/callback",
        "http://127.0.0.1.evil.example:5000/callback",
    ]:
        assert_error_page(client.get(authorize_url(oauth_client.client_id, uri)))


def test_rfc9700_4_1_3_https_port_is_not_free(client, user):
    """Only loopback URIs get the any-port rule; a web client's port is part of the string."""
    oauth_client = public_client(["https://app.example.com/callback"])
    client.force_login(user)
    assert_error_page(
        client.get(authorize_url(oauth_client.client_id, "https://app.example.com:8443/callback"))
    )


def test_rfc8252_8_3_http_only_on_loopback_hosts(client):
    for uri in [
        "http://app.example.com/callback",
        "http://127.0.0.1.nip.io/callback",
        "http://localhost.evil.example/callback",
        "http://10.0.0.1/callback",
    ]:
        refused_at_registration(client, uri)
    for uri in ["http://127.0.0.1/cb", "http://[::1]:9000/cb", "http://localhost/cb"]:
        response = register(client, {"redirect_uris": [uri], "token_endpoint_auth_method": "none"})
        assert response.status_code == 201, (uri, response.content)
        assert response.json()["redirect_uris"] == [uri]


def test_rfc8252_7_1_private_use_scheme_allowed_and_kept_verbatim(client, user):
    uri = "com.example.app:/oauth2redirect"
    response = register(client, {"redirect_uris": [uri], "token_endpoint_auth_method": "none"})
    assert response.status_code == 201, response.content
    client_id = response.json()["client_id"]
    final = approve(client, user, client_id, uri)
    assert final.status_code == 302
    assert final["Location"].startswith(uri + "?")


def test_rfc6749_3_1_2_redirect_uri_fragment_refused(client):
    body = refused_at_registration(client, "https://app.example.com/callback#section")
    assert "fragment" in body["error_description"]
    refused_at_registration(client, "https://app.example.com/callback#")


def test_rfc9700_4_1_3_script_and_file_schemes_refused(client):
    for uri in [
        "javascript:alert(document.cookie)",
        "JavaScript://app.example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ]:
        refused_at_registration(client, uri)


def test_rfc9700_4_1_3_wildcards_refused(client):
    for uri in ["https://*.example.com/callback", "https://app.example.com/*", "http://127.0.0.1:*/cb"]:
        refused_at_registration(client, uri)


def test_rfc9700_4_1_3_user_information_refused(client):
    for uri in ["https://user@app.example.com/callback", "https://app.example.com:pw@evil.example/cb"]:
        refused_at_registration(client, uri)


def test_rfc9700_4_1_3_idn_host_matched_only_as_registered(client, user):
    registered = "https://bücher.example/callback"
    oauth_client = public_client([registered])
    client.force_login(user)
    assert_error_page(
        client.get(authorize_url(oauth_client.client_id, "https://xn--bcher-kva.example/callback"))
    )
    final = approve(client, user, oauth_client.client_id, registered)
    assert final.status_code == 302
    # A header carries ASCII only: the IRI's host is percent-encoded (RFC 3987 §3.1), which a
    # browser decodes back to the registered host (WHATWG URL, host parsing).
    assert unquote(urlsplit(final["Location"]).netloc) == "bücher.example"


def test_rfc9700_4_16_idn_hosts_shown_in_punycode_on_consent_page(client, user):
    # A Cyrillic "а" in place of a Latin "a": the consent page must not let it pass for apple.com.
    lookalike = "https://\u0430pple.com/callback"
    oauth_client, _ = make_client(
        token_endpoint_auth_method="none",
        redirect_uris=[lookalike],
        client_uri="https://\u0430pple.com/",
        client_name="",
    )
    from tests.conftest import pkce_pair

    client.force_login(user)
    _, challenge = pkce_pair()
    page = client.get(
        authorize_url(
            oauth_client.client_id, lookalike, code_challenge=challenge, code_challenge_method="S256"
        )
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "xn--pple-43d.com" in html
    assert "\u0430pple" not in html


@pytest.mark.parametrize(
    "host, shown",
    [
        # Browsers keep ß and ς (UTS #46 non-transitional); IDNA 2003 would show fass.de.
        ("fa\u00df.de", "xn--fa-hia.de"),
        ("\u03ba\u03b1\u03c2.gr", "xn--mxarz.gr"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
    ],
)
def test_rfc9700_4_16_consent_page_shows_the_host_the_browser_will_visit(client, user, host, shown):
    redirect = f"https://{host}/cb"
    oauth_client, _ = make_client(
        token_endpoint_auth_method="none",
        redirect_uris=[redirect],
        client_uri=f"https://{host}/",
        client_name="",
    )
    from tests.conftest import pkce_pair

    client.force_login(user)
    _, challenge = pkce_pair()
    query = authorize_url(
        oauth_client.client_id, redirect, code_challenge=challenge, code_challenge_method="S256"
    )
    page = client.get(query)
    assert page.status_code == 200
    assert page.context["redirect_host"] == shown
    assert page.context["client_host"] == shown


def test_rfc6749_3_1_2_3_several_registered_and_none_sent_is_invalid_request(client, user):
    oauth_client = public_client(["https://a.example/cb", "https://b.example/cb"])
    client.force_login(user)
    assert_error_page(client.get(authorize_url(oauth_client.client_id, None)), "invalid_request")


def test_rfc7591_2_redirect_uri_count_is_bounded(client):
    before = row_counts()
    uris = [f"https://app.example.com/cb/{i}" for i in range(21)]
    response = register(client, {"redirect_uris": uris, "token_endpoint_auth_method": "none"})
    assert_oauth_error(response, 400, "invalid_redirect_uri")
    assert row_counts() == before
