"""
Hostile input at every endpoint: oversized bodies and fields, too many parameters, non-UTF-8
bytes, NUL characters, wrong content types, malformed JSON and malformed Authorization headers.
Each answers 400 (or 413, or 401 where RFC 6750 says so) with the RFC's error code — never a
500, never a redirect, never a row written.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import override_settings

from tests.conftest import REDIRECT, basic, code_tokens, pkce_pair
from tests.security.conftest import assert_error_page, assert_oauth_error, row_counts

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
FORM_ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")
METADATA_ERRORS = ("invalid_client_metadata", "invalid_redirect_uri")


@pytest.fixture
def world(client, user, confidential):
    """A client with live tokens, so that a hostile request has something it could damage."""
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret)
    client.logout()
    return oauth_client, secret, body


@pytest.fixture
def unchanged(world):
    """Yields; then checks that no table gained or lost a row."""
    before = row_counts()
    yield world
    assert row_counts() == before


def post_form(http, path, body: bytes | str, content_type: str = FORM, **headers):
    return http.generic("POST", path, body, content_type=content_type, **headers)


def post_json(http, body: bytes | str, content_type: str = "application/json", **headers):
    return http.generic("POST", "/oauth/register", body, content_type=content_type, **headers)


def form_body(oauth_client, secret, **extra) -> str:
    data = {"grant_type": "client_credentials", "token": "x", "client_id": oauth_client.client_id}
    data["client_secret"] = secret
    data.update(extra)
    return urlencode(data)


def authorize_query(http, user, query: str):
    http.force_login(user)
    return http.get("/oauth/authorize", QUERY_STRING=query)


def test_rfc9110_15_5_14_oversized_bodies_answer_413(client, user, unchanged):
    oauth_client, secret, _ = unchanged
    padding = "&pad=" + "x" * 8000
    big_form = form_body(oauth_client, secret) + "".join(f"{padding}{i}" for i in range(9))
    for path in FORM_ENDPOINTS:
        assert_oauth_error(post_form(client, path, big_form), 413, "invalid_request")
        assert_oauth_error(post_form(client, path, b"a=" + b"x" * 3_000_000), 413, "invalid_request")
    big_json = json.dumps({"redirect_uris": [REDIRECT], "client_name": "x", "pad": "x" * 300_000})
    assert_oauth_error(post_json(client, big_json), 413, "invalid_request")
    assert_oauth_error(post_json(client, b'{"a":"' + b"x" * 3_000_000 + b'"}'), 413, "invalid_request")
    # The consent form is parsed by Django before the view: its own limit answers 400.
    client.force_login(user)
    response = post_form(client, "/oauth/authorize", b"request=" + b"x" * 3_000_000)
    assert response.status_code == 400
    assert "Location" not in response


def test_rfc9110_8_6_malformed_content_length_is_invalid_request(client, unchanged):
    oauth_client, secret, _ = unchanged
    for path in FORM_ENDPOINTS:
        response = post_form(client, path, form_body(oauth_client, secret), CONTENT_LENGTH="12abc")
        assert_oauth_error(response, 400, "invalid_request")
    response = post_json(client, json.dumps({"redirect_uris": [REDIRECT]}), CONTENT_LENGTH="x")
    assert_oauth_error(response, 400, "invalid_request")


def test_rfc6749_3_1_oversized_parameter_value_is_invalid_request(client, user, unchanged):
    oauth_client, secret, _ = unchanged
    for name in ("client_id", "token", "code", "grant_type", "scope"):
        body = form_body(oauth_client, secret, **{name: "a" * 9000})
        for path in FORM_ENDPOINTS:
            body_error = assert_oauth_error(post_form(client, path, body), 400, "invalid_request")
            assert "too long" in body_error["error_description"]
    response = post_json(client, json.dumps({"redirect_uris": [REDIRECT], "client_name": "n" * 10_000}))
    assert_oauth_error(response, 400, *METADATA_ERRORS)
    response = post_json(client, json.dumps({"redirect_uris": ["https://a.example/" + "p" * 5000]}))
    assert_oauth_error(response, 400, *METADATA_ERRORS)
    assert_error_page(authorize_query(client, user, f"client_id={oauth_client.client_id}&state={'s' * 9000}"))


def test_rfc6749_3_1_too_many_parameters_is_invalid_request(client, user, unchanged):
    oauth_client, secret, _ = unchanged
    body = form_body(oauth_client, secret) + "".join(f"&p{i}=1" for i in range(150))
    for path in FORM_ENDPOINTS:
        assert_oauth_error(post_form(client, path, body), 400, "invalid_request")
    assert_error_page(authorize_query(client, user, "&".join(f"p{i}=1" for i in range(1000))))


def test_rfc8259_8_1_non_utf8_bytes_are_refused(client, user, unchanged):
    oauth_client, secret, _ = unchanged
    for path in FORM_ENDPOINTS:
        for body in (
            form_body(oauth_client, secret) + "&token2=%FF%FE",
            form_body(oauth_client, secret).encode() + b"&token2=\xff\xfe",
            b"grant_type=client_credentials&client_id=%C3%28",
        ):
            assert_oauth_error(post_form(client, path, body), 400, "invalid_request")
    latin1 = json.dumps({"redirect_uris": [REDIRECT], "client_name": "Café"}, ensure_ascii=False).encode(
        "latin-1"
    )
    assert_oauth_error(post_json(client, latin1), 400, *METADATA_ERRORS)
    utf16 = json.dumps({"redirect_uris": [REDIRECT]}).encode("utf-16")
    assert_oauth_error(post_json(client, utf16), 400, *METADATA_ERRORS)
    for query in (f"client_id={oauth_client.client_id}&state=%FF", "client_id=\xff"):
        assert_error_page(authorize_query(client, user, query))


def test_rfc6749_5_2_nul_characters_are_refused(client, user, unchanged):
    oauth_client, secret, body = unchanged
    for path in FORM_ENDPOINTS:
        for form in (
            form_body(oauth_client, secret, token=body["refresh_token"] + "\x00"),
            form_body(oauth_client, secret, client_id=oauth_client.client_id + "\x00"),
            form_body(oauth_client, secret) + "&na%00me=1",
        ):
            response = post_form(client, path, form)
            assert_oauth_error(response, 400, "invalid_request")
    for metadata in (
        {"redirect_uris": [REDIRECT], "client_name": "a\u0000b"},
        {"redirect_uris": [REDIRECT + "\u0000"]},
        {"redirect_uris": [REDIRECT], "unknown_field": "\u0000"},
        {"redirect_uris": [REDIRECT], "contacts": ["a\u0000@example.com"]},
    ):
        assert_oauth_error(post_json(client, json.dumps(metadata)), 400, *METADATA_ERRORS)
    assert_error_page(authorize_query(client, user, f"client_id={oauth_client.client_id}%00"))


def test_rfc6749_3_2_wrong_content_type_is_refused(client, unchanged):
    oauth_client, secret, _ = unchanged
    as_json = json.dumps({"grant_type": "client_credentials", "client_id": oauth_client.client_id})
    for path in FORM_ENDPOINTS:
        for content_type, body in (
            ("application/json", as_json),
            ("text/plain", form_body(oauth_client, secret)),
            ("multipart/form-data; boundary=zz", form_body(oauth_client, secret)),
            ("application/x-www-form-urlencodedx", form_body(oauth_client, secret)),
            ("", form_body(oauth_client, secret)),
        ):
            assert_oauth_error(post_form(client, path, body, content_type), 400, "invalid_request")
    metadata = json.dumps({"redirect_uris": [REDIRECT]})
    for content_type in (FORM, "text/plain", "application/jsonx", "", "application/json-patch+json"):
        assert_oauth_error(post_json(client, metadata, content_type), 400, "invalid_client_metadata")


def test_rfc7591_3_2_2_malformed_json_is_invalid_client_metadata(client, unchanged):
    for body in (
        b"",
        b"{",
        b'{"redirect_uris": ["https://a.example/cb"],}',
        b"{'redirect_uris': []}",
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b"[]",
        b'"a string"',
        b"42",
        b"null",
        b"NaN",
        b'{"redirect_uris": NaN}',
        b'{"a": 1} {"b": 2}',
        b'{"redirect_uris": ["https://a.example/cb"], "client_name": 1e400}',
    ):
        assert_oauth_error(post_json(client, body), 400, *METADATA_ERRORS)


def test_rfc7591_3_2_2_deeply_nested_json_is_refused(client, unchanged):
    for body in (
        "[" * 100_000,
        "[" * 50_000 + "]" * 50_000,
        json.dumps({"redirect_uris": [REDIRECT], "extra": json.loads("[" * 40 + "]" * 40)}),
        '{"a":' * 30_000 + "1" + "}" * 30_000,
    ):
        assert_oauth_error(post_json(client, body), 400, *METADATA_ERRORS)


def test_rfc8259_8_2_unpaired_surrogates_are_refused(client, unchanged):
    for body in (
        '{"redirect_uris": ["https://a.example/cb"], "client_name": "\\ud800"}',
        '{"redirect_uris": ["https://a.example/cb\\udfff"]}',
        '{"redirect_uris": ["https://a.example/cb"], "\\udc00": 1}',
        '{"redirect_uris": ["https://a.example/cb"], "software_id": "x\\ud83d"}',
    ):
        assert_oauth_error(post_json(client, body), 400, *METADATA_ERRORS)
    # A properly paired surrogate is an ordinary character and is accepted.
    ok = post_json(client, '{"redirect_uris": ["https://a.example/cb"], "client_name": "\\ud83d\\ude00"}')
    assert ok.status_code == 201
    assert ok.json()["client_name"] == "\U0001f600"
    from twenty_oauth.models import Client

    Client.objects.filter(client_id=ok.json()["client_id"]).delete()


def test_rfc7591_2_thousands_of_redirect_uris_are_refused(client, unchanged):
    uris = [f"https://app.example.com/cb/{i}" for i in range(5000)]
    response = post_json(client, json.dumps({"redirect_uris": uris, "token_endpoint_auth_method": "none"}))
    assert_oauth_error(response, 400, "invalid_redirect_uri")


def test_rfc7591_2_metadata_of_the_wrong_type_is_refused(client, unchanged):
    for metadata in (
        {"redirect_uris": REDIRECT},
        {"redirect_uris": [REDIRECT], "grant_types": [1]},
        {"redirect_uris": [REDIRECT], "grant_types": "authorization_code"},
        {"redirect_uris": [REDIRECT], "client_name": 5},
        {"redirect_uris": [REDIRECT], "client_name": ["a"]},
        {"redirect_uris": [REDIRECT], "contacts": {"a": "b"}},
        {"redirect_uris": [REDIRECT], "scope": ["api"]},
        {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": ["none"]},
        {"redirect_uris": [{"uri": REDIRECT}]},
        {"redirect_uris": [None]},
        {"redirect_uris": [REDIRECT], "logo_uri": {"href": "https://a.example"}},
        {"redirect_uris": [REDIRECT], "contacts": [f"c{i}@example.com" for i in range(11)]},
        {"redirect_uris": [REDIRECT], "contacts": ["x" * 400 + "@example.com"]},
    ):
        assert_oauth_error(post_json(client, json.dumps(metadata)), 400, *METADATA_ERRORS)


def test_rfc7591_2_json_null_is_an_absent_member(client, unchanged):
    body = {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": None, "client_name": None}
    response = post_json(client, json.dumps(body))
    assert response.status_code == 201, response.content
    information = response.json()
    assert information["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_name" not in information
    from twenty_oauth.models import Client

    Client.objects.filter(client_id=information["client_id"]).delete()


def test_rfc6749_2_3_1_malformed_basic_header_is_invalid_request(client, unchanged):
    oauth_client, secret, _ = unchanged

    def b64(raw: bytes) -> str:
        return "Basic " + base64.b64encode(raw).decode()

    headers = [
        "Basic",
        "Basic ",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"id:secret").decode()[:-2],  # truncated padding
        b64(b"no-colon"),
        b64(b":secret-without-id"),
        b64(b"\xff\xfe:\xfd"),
        b64(oauth_client.client_id.encode() + b"%00:" + secret.encode()),
        "Basic \xe9\xe9\xe9",
        "Digest username=x",
        "Bearer something",
    ]
    body = "grant_type=client_credentials&token=x"
    for path in FORM_ENDPOINTS:
        for header in headers:
            response = post_form(client, path, body, HTTP_AUTHORIZATION=header)
            assert_oauth_error(response, 400, "invalid_request")


def forged(header: dict) -> str:
    """A JWT with the given header, an empty payload and a signature that proves nothing."""
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.e30.AAAA"


#: Headers a presenter may write before any signature is checked, of every JSON type.
FORGED_HEADERS = [
    {"alg": "none", "typ": "at+jwt", "kid": "x"},
    {"alg": "ES256", "typ": 1},
    {"alg": "ES256", "typ": None},
    {"alg": "ES256", "typ": ["at+jwt"]},
    {"alg": "ES256", "typ": "at+jwt", "kid": 7},
    {"alg": "ES256", "typ": "at+jwt", "kid": {"a": 1}},
    {"alg": ["ES256"], "typ": "at+jwt", "kid": None},
]


def test_rfc6750_3_1_malformed_bearer_token_is_invalid_token(client, unchanged):
    for method in ("get", "post"):
        for header in (
            "Bearer",
            "Bearer ",
            "Bearer a.b.c",
            *(f"Bearer {forged(h)}" for h in FORGED_HEADERS),
            "Bearer a\x00b",
            "Bearer \xe9\xe9",
            "Bearer " + "a" * 20_000,
            "Bearer ....",
            "Basic " + base64.b64encode(b"a:b").decode(),
        ):
            response = getattr(client, method)("/oauth/userinfo", HTTP_AUTHORIZATION=header)
            assert_oauth_error(response, 401, "invalid_token")
            assert response["WWW-Authenticate"].startswith("Bearer")
    for h in FORGED_HEADERS:
        response = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {forged(h)}")
        assert response.status_code == 401
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
    # The body of a userinfo POST is not read: an oversized one changes nothing.
    response = post_form(client, "/oauth/userinfo", b"a=" + b"x" * 3_000_000)
    assert_oauth_error(response, 401, "invalid_token")


def test_rfc7591_3_malformed_initial_access_token_is_invalid_token(client, unchanged):
    metadata = json.dumps({"redirect_uris": [REDIRECT]})
    with override_settings(TWENTY_OAUTH={"REGISTRATION_INITIAL_ACCESS_TOKEN": "s3cret-registration-token"}):
        for header in (
            "",
            "Bearer",
            "Bearer wrong",
            "Basic czNjcmV0",
            "Bearer s3cret-registration-toke",
            "Bearer \xe9",
        ):
            extra = {"HTTP_AUTHORIZATION": header} if header else {}
            response = post_json(client, metadata, **extra)
            assert_oauth_error(response, 401, "invalid_token")
            assert response["WWW-Authenticate"].startswith("Bearer")


def test_rfc6749_4_1_2_1_hostile_authorization_requests_show_the_error_page(client, user, unchanged):
    oauth_client, _, _ = unchanged
    client_id = oauth_client.client_id
    for query in (
        f"client_id={client_id}&client_id={client_id}&response_type=code",
        f"client_id={client_id}&redirect_uri={REDIRECT}&redirect_uri=https://evil.example/cb",
        f"client_id={client_id}%00&response_type=code",
        f"client_id={client_id}&response_type=code&redirect_uri=%FF",
        f"client_id={client_id}&redirect_uri=https://evil.example/%0d%0aLocation:%20https://evil.example",
    ):
        response = authorize_query(client, user, query)
        assert_error_page(response)
        assert "evil.example" not in response.get("Location", "")


def test_rfc6749_10_12_hostile_consent_posts_are_refused(client, user, unchanged):
    client.force_login(user)
    for content_type, body in (
        (FORM, b"request=%00&allow=1"),
        (FORM, b"request=%FF&allow=1"),
        (FORM, b"request=" + b"a" * 60_000 + b"&allow=1"),
        ("application/json", b'{"request": "x", "allow": "1"}'),
        ("text/plain", b"\x00\xff"),
    ):
        assert_error_page(client.generic("POST", "/oauth/authorize", body, content_type=content_type))


def test_rfc7009_rfc7662_forged_tokens_are_unknown_tokens(client, unchanged):
    """RFC 7009 §2.2: revoking an unknown token answers 200; RFC 7662 §2.2: it is inactive."""
    oauth_client, secret, _ = unchanged
    for h in FORGED_HEADERS:
        for hint in ("", "access_token", "refresh_token"):
            extra = {"token_type_hint": hint} if hint else {}
            body = form_body(oauth_client, secret, token=forged(h), **extra)
            response = post_form(client, "/oauth/revoke", body)
            assert response.status_code == 200, response.content
            response = post_form(client, "/oauth/introspect", body)
            assert response.status_code == 200, response.content
            assert response.json() == {"active": False}


def test_rfc6749_5_2_error_descriptions_keep_to_their_character_set(client, user, service, confidential):
    """Input echoed in an ``error_description`` loses what %x20-21 / %x23-5B / %x5D-7E leaves out."""
    hostile = 'https://other.example/"\\é<b>'
    echoed = "This server does not issue tokens for https://other.example/???<b>."
    response = post_form(client, "/oauth/token", form_body(*service, resource=hostile))
    assert assert_oauth_error(response, 400, "invalid_target")["error_description"] == echoed
    response = post_form(client, "/oauth/token", "%C3%A9=1&%C3%A9=2")
    assert assert_oauth_error(response, 400, "invalid_request")["error_description"].count("?") == 1
    metadata = {"redirect_uris": ['https://app.example.com/"é'], "client_name": "x"}
    response = post_json(client, json.dumps(metadata))
    assert '"' not in assert_oauth_error(response, 400, *METADATA_ERRORS)["error_description"]
    client.force_login(user)
    query = urlencode(
        {
            "client_id": confidential[0].client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
            "resource": hostile,
        }
    )
    response = client.get("/oauth/authorize?" + query)
    assert response.status_code == 302
    answered = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert answered["error"] == "invalid_target"
    assert answered["error_description"] == echoed


def test_rfc6749_5_2_errors_never_echo_a_secret(client, unchanged):
    oauth_client, secret, _ = unchanged
    response = post_form(
        client, "/oauth/token", form_body(oauth_client, secret + "x"), HTTP_AUTHORIZATION=basic("a", secret)
    )
    assert_oauth_error(response, 400, "invalid_request")
    assert secret not in response.content.decode()
    response = post_form(client, "/oauth/token", form_body(oauth_client, secret + "x"))
    assert_oauth_error(response, 401, "invalid_client")
    assert secret not in response.content.decode()
