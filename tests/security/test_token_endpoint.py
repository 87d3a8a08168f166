"""
The token endpoint's request rules (RFC 6749 §2.3, §3.1, §3.2, §5): POST with a form body only,
each parameter once, empty values as omitted, one client authentication method, no secrets in
the URL, an empty password that is no secret, and no password or implicit grant (RFC 9700 §2.4,
§2.1.2).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest

from tests.conftest import basic, form, token_request
from tests.security.conftest import assert_oauth_error, register, row_counts
from twenty_oauth.models import Client
from twenty_oauth.protocol import opaque

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def credentials_grant(service, **extra) -> dict:
    oauth_client, secret = service
    return {
        "grant_type": "client_credentials",
        "client_id": oauth_client.client_id,
        "client_secret": secret,
        **extra,
    }


def test_rfc6749_3_2_token_endpoint_requires_post(client, service):
    for method in ("get", "put", "delete", "patch"):
        response = getattr(client, method)("/oauth/token?" + urlencode(credentials_grant(service)))
        body = assert_oauth_error(response, 405, "invalid_request")
        assert "POST" in response["Allow"], body


def test_rfc6749_3_2_token_request_takes_a_form_body_only(client, service):
    before = row_counts()
    for content_type, body in [
        ("application/json", json.dumps(credentials_grant(service))),
        ("text/plain", form(credentials_grant(service))),
        ("multipart/form-data; boundary=x", form(credentials_grant(service))),
        ("", form(credentials_grant(service))),
    ]:
        response = client.post("/oauth/token", body, content_type=content_type)
        assert_oauth_error(response, 400, "invalid_request")
    assert row_counts() == before


def test_rfc6749_3_2_form_body_with_charset_parameter_is_accepted(client, service):
    for content_type in (
        f"{FORM}; charset=UTF-8",
        f"{FORM};charset=utf-8",
        "Application/X-WWW-Form-Urlencoded",
    ):
        response = client.post("/oauth/token", form(credentials_grant(service)), content_type=content_type)
        assert response.status_code == 200, (content_type, response.content)


def test_rfc6749_3_1_repeated_parameter_is_invalid_request(client, service):
    before = row_counts()
    base = form(credentials_grant(service))
    for extra in [
        "&grant_type=client_credentials",
        "&scope=api&scope=profile",
        "&client_secret=x",
        "&scope=api&scope=",
    ]:
        response = client.post("/oauth/token", base + extra, content_type=FORM)
        body = assert_oauth_error(response, 400, "invalid_request")
        assert "more than once" in body["error_description"]
    # An empty copy first is a repeat as well: the order must not decide.
    response = client.post("/oauth/token", "grant_type=&" + base, content_type=FORM)
    assert "more than once" in assert_oauth_error(response, 400, "invalid_request")["error_description"]
    assert row_counts() == before


def test_rfc6749_3_1_empty_value_counts_as_omitted(client, service):
    oauth_client, secret = service
    # scope= is no scope (the default is granted); an empty client_secret beside a Basic
    # header is not a second authentication method.
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials&scope=&client_secret=",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "api"
    # And an empty grant_type is a missing one.
    assert_oauth_error(client.post("/oauth/token", "grant_type=", content_type=FORM), 400, "invalid_request")


def test_rfc6749_2_3_two_client_authentication_methods_are_invalid_request(client, service):
    oauth_client, secret = service
    before = row_counts()
    response = token_request(
        client, credentials_grant(service), HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret)
    )
    assert_oauth_error(response, 400, "invalid_request")
    assert row_counts() == before


def test_rfc6749_2_3_1_client_id_in_body_must_match_basic_header(client, service, confidential):
    oauth_client, secret = service
    other, _ = confidential
    response = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": other.client_id},
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, secret),
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_rfc6749_2_3_1_secret_in_query_string_is_refused(client, service):
    oauth_client, secret = service
    before = row_counts()
    for query, body in [
        (credentials_grant(service), {}),
        (
            {"client_secret": secret},
            {"grant_type": "client_credentials", "client_id": oauth_client.client_id},
        ),
    ]:
        response = client.post("/oauth/token?" + urlencode(query), form(body), content_type=FORM)
        assert_oauth_error(response, 400, "invalid_request")
    assert row_counts() == before


def test_rfc6749_2_3_1_basic_credentials_are_form_urlencoded(client, service):
    """The id and secret are form-urlencoded before base64: a fully percent-encoded id still works."""
    oauth_client, secret = service
    encoded_id = "".join(f"%{byte:02X}" for byte in oauth_client.client_id.encode())
    header = "Basic " + base64.b64encode(f"{encoded_id}:{secret}".encode()).decode()
    response = client.post(
        "/oauth/token", "grant_type=client_credentials", content_type=FORM, HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 200, response.content
    # Unencoded, a "+" would have been decoded to a space: the secret below is then wrong.
    plus = "Basic " + base64.b64encode(f"{oauth_client.client_id}:{secret}+".encode()).decode()
    response = client.post(
        "/oauth/token", "grant_type=client_credentials", content_type=FORM, HTTP_AUTHORIZATION=plus
    )
    assert_oauth_error(response, 401, "invalid_client")
    # A secret with the characters Basic and form-urlencoding reserve works once encoded.
    weird = "s3cr:et+/=%"
    Client.objects.filter(pk=oauth_client.pk).update(client_secret_digest=opaque.digest(weird))
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(oauth_client.client_id, weird),
    )
    assert response.status_code == 200, response.content


def test_rfc9700_2_4_password_grant_does_not_exist(client, user, confidential):
    oauth_client, secret = confidential
    before = row_counts()
    response = token_request(
        client,
        {
            "grant_type": "password",
            "username": user.username,
            "password": "pw",
            "client_id": oauth_client.client_id,
            "client_secret": secret,
        },
    )
    assert_oauth_error(response, 400, "unsupported_grant_type")
    assert row_counts() == before
    registration = register(client, {"grant_types": ["password"], "redirect_uris": []})
    assert_oauth_error(registration, 400, "invalid_client_metadata")
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert "password" not in document["grant_types_supported"]


def test_rfc9700_2_1_2_implicit_grant_does_not_exist(client, user, confidential):
    oauth_client, _ = confidential
    for grant_type in ("implicit", "token"):
        response = token_request(client, {"grant_type": grant_type, "client_id": oauth_client.client_id})
        assert_oauth_error(response, 400, "unsupported_grant_type")
    registration = register(
        client,
        {"response_types": ["token"], "grant_types": ["implicit"], "redirect_uris": ["https://a.example/cb"]},
    )
    assert_oauth_error(registration, 400, "invalid_client_metadata")
    document = client.get("/.well-known/oauth-authorization-server").json()
    assert document["response_types_supported"] == ["code"]
    assert "implicit" not in document["grant_types_supported"]


def test_rfc6749_5_2_failed_client_authentication_is_401_with_www_authenticate(client, service):
    oauth_client, _ = service
    for data, headers in [
        (credentials_grant(service, client_secret="wrong"), {}),
        ({"grant_type": "client_credentials", "client_id": "unknown", "client_secret": "x"}, {}),
        (
            {"grant_type": "client_credentials"},
            {"HTTP_AUTHORIZATION": basic(oauth_client.client_id, "wrong")},
        ),
        ({"grant_type": "client_credentials"}, {}),
    ]:
        response = token_request(client, data, **headers)
        assert_oauth_error(response, 401, "invalid_client")
        assert response["WWW-Authenticate"].startswith("Basic")


def test_rfc6749_5_2_client_authentication_errors_do_not_say_which_part_failed(client, service):
    """Unknown client and wrong secret answer the same: no oracle for valid client ids."""
    unknown = token_request(
        client, {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    )
    wrong = token_request(client, credentials_grant(service, client_secret="wrong"))
    assert unknown.json() == wrong.json()


def test_rfc6749_5_1_token_responses_are_never_cached(client, service):
    for response in (
        token_request(client, credentials_grant(service)),
        token_request(client, credentials_grant(service, client_secret="wrong")),
    ):
        assert response["Cache-Control"] == "no-store"
        assert response["Pragma"] == "no-cache"


def test_rfc9700_2_5_public_client_may_not_present_a_secret(client, public):
    response = token_request(
        client, {"grant_type": "client_credentials", "client_id": public.client_id, "client_secret": "guess"}
    )
    assert_oauth_error(response, 401, "invalid_client")


CLIENT_ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


def post_with_basic(http, path: str, client_id: str, password: str):
    data = {"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "anything"}
    return http.post(path, urlencode(data), content_type=FORM, HTTP_AUTHORIZATION=basic(client_id, password))


@pytest.mark.parametrize("path", CLIENT_ENDPOINTS)
def test_rfc6749_2_3_1_an_empty_basic_password_is_no_secret_for_a_confidential_client(client, service, path):
    """requests-oauthlib's default for a missing secret: a confidential client is not authenticated."""
    oauth_client, _ = service
    for password in ("", " "):
        response = post_with_basic(client, path, oauth_client.client_id, password)
        assert_oauth_error(response, 401, "invalid_client")
        assert response["WWW-Authenticate"].startswith("Basic")
    # The empty secret in the body is an omitted one (RFC 6749 §3.1): still no secret.
    body = {"client_id": oauth_client.client_id, "client_secret": ""}
    body.update({"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "anything"})
    assert_oauth_error(client.post(path, urlencode(body), content_type=FORM), 401, "invalid_client")


@pytest.mark.parametrize("path", CLIENT_ENDPOINTS)
def test_rfc6749_2_3_1_a_public_client_with_a_basic_password_is_invalid_client(client, public, path):
    response = post_with_basic(client, path, public.client_id, "guess")
    assert_oauth_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("path", CLIENT_ENDPOINTS)
def test_rfc6749_2_3_1_an_unknown_client_with_an_empty_basic_password_is_invalid_client(client, path):
    response = post_with_basic(client, path, "nobody", "")
    assert_oauth_error(response, 401, "invalid_client")


def test_rfc6749_2_3_1_a_public_client_named_by_basic_answers_as_with_none(client, public):
    """An empty password adds nothing: each endpoint answers as it does to the client_id alone."""
    for path in CLIENT_ENDPOINTS:
        data = {"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "anything"}
        named = post_with_basic(client, path, public.client_id, "")
        alone = client.post(path, urlencode({**data, "client_id": public.client_id}), content_type=FORM)
        assert (named.status_code, named.json()) == (alone.status_code, alone.json()), path
    # RFC 7662 §2.1: introspection takes a confidential client, however a public one names itself.
    refused = post_with_basic(client, "/oauth/introspect", public.client_id, "")
    assert_oauth_error(refused, 401, "invalid_client")
    # A public client may not use client credentials, named either way (RFC 6749 §4.4).
    assert_oauth_error(
        post_with_basic(client, "/oauth/token", public.client_id, ""), 400, "unauthorized_client"
    )
