"""OpenID Connect authorization request parameters (Core §3.1.2.1): prompt, max_age, hints."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.shortcuts import resolve_url

from tests.conftest import ISSUER, REDIRECT, code_tokens, query_of
from tests.factories import ConsentFactory, UserFactory

pytestmark = pytest.mark.django_db


def request_params(oauth_client, **extra) -> dict:
    return {
        "client_id": oauth_client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s1",
        **extra,
    }


def redirected_error(response) -> dict:
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT + "?")
    query = query_of(response["Location"])
    assert query["state"] == "s1" and query["iss"] == ISSUER
    assert "code" not in query
    return query


def login_redirect(response) -> dict:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == resolve_url(settings.LOGIN_URL)
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_prompt_none_anonymous_is_login_required_by_redirect_core_3_1_2_6(client, confidential):
    oauth_client, _ = confidential
    response = client.get("/oauth/authorize", request_params(oauth_client, prompt="none"))
    assert redirected_error(response)["error"] == "login_required"


def test_prompt_none_without_consent_is_consent_required_core_3_1_2_6(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, prompt="none"))
    assert redirected_error(response)["error"] == "consent_required"


def test_prompt_none_with_consent_answers_with_a_code_and_no_page(client, user, confidential):
    oauth_client, _ = confidential
    ConsentFactory(user=user, client=oauth_client, scope="openid profile")
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, prompt="none", scope="openid"))
    assert response.status_code == 302
    query = query_of(response["Location"])
    assert query["code"] and query["state"] == "s1"


def test_prompt_none_combined_with_another_value_is_invalid_request(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, prompt="none login"))
    assert redirected_error(response)["error"] == "invalid_request"


def test_prompt_login_sends_the_person_to_sign_in_again_core_3_1_2_1(client, user, confidential, clock):
    oauth_client, _ = confidential
    client.force_login(user)
    params = request_params(oauth_client, prompt="login consent", login_hint="ada@example.com")
    login = login_redirect(client.get("/oauth/authorize", params))
    assert login["login_hint"] == "ada@example.com"
    back = login["next"]
    assert "prompt=consent" in back and "login" not in parse_qs(urlsplit(back).query)["prompt"][0]
    # Coming back without signing in again is not enough.
    login_redirect(client.get(back))
    clock.advance(5)
    client.force_login(user)
    page = client.get(back)
    assert page.status_code == 200
    assert page.context["signed_request"]


def test_max_age_past_asks_for_a_new_sign_in_core_3_1_2_1(client, user, confidential, clock):
    oauth_client, _ = confidential
    client.force_login(user)
    assert client.get("/oauth/authorize", request_params(oauth_client, max_age="60")).status_code == 200
    clock.advance(61)
    login = login_redirect(client.get("/oauth/authorize", request_params(oauth_client, max_age="60")))
    assert "max_age=60" in login["next"]
    silent = client.get("/oauth/authorize", request_params(oauth_client, max_age="60", prompt="none"))
    assert redirected_error(silent)["error"] == "login_required"


@pytest.mark.parametrize("max_age", ["-1", "ten", "1.5", "99999999999"])
def test_malformed_max_age_is_invalid_request(client, user, confidential, max_age):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, max_age=max_age))
    assert redirected_error(response)["error"] == "invalid_request"


@pytest.mark.parametrize(
    "parameter, error",
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
def test_request_objects_are_refused_with_their_codes_core_6(client, user, confidential, parameter, error):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, **{parameter: "eyJhbGciOi"}))
    assert redirected_error(response)["error"] == error


def test_plain_oauth_request_objects_keep_invalid_request(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, scope="api", request="x"))
    assert redirected_error(response)["error"] == "invalid_request"


def test_id_token_hint_not_from_this_server_is_invalid_request(client, user, confidential):
    oauth_client, _ = confidential
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, id_token_hint="a.b.c"))
    assert redirected_error(response)["error"] == "invalid_request"


def test_prompt_none_with_a_hint_for_someone_else_is_login_required(client, user, confidential):
    oauth_client, secret = confidential
    other = UserFactory()
    hint = code_tokens(client, other, oauth_client, secret, scope="openid")["id_token"]
    ConsentFactory(user=user, client=oauth_client, scope="openid")
    client.force_login(user)
    response = client.get("/oauth/authorize", request_params(oauth_client, prompt="none", id_token_hint=hint))
    assert redirected_error(response)["error"] == "login_required"
    client.force_login(other)
    same = client.get("/oauth/authorize", request_params(oauth_client, prompt="none", id_token_hint=hint))
    assert query_of(same["Location"])["code"]


def test_default_max_age_of_the_client_applies(client, user, clock):
    from tests.factories import make_client

    oauth_client, _ = make_client(default_max_age=30)
    client.force_login(user)
    clock.advance(31)
    login_redirect(client.get("/oauth/authorize", request_params(oauth_client)))


def test_anonymous_prompt_login_signs_in_once_with_the_login_hint(client, user, confidential):
    oauth_client, _ = confidential
    params = request_params(oauth_client, prompt="login", login_hint="ada")
    login = login_redirect(client.get("/oauth/authorize", params))
    assert login["login_hint"] == "ada"
    assert "prompt" not in parse_qs(urlsplit(login["next"]).query)
    client.force_login(user)
    page = client.get(login["next"])
    assert page.status_code == 200 and page.context["signed_request"]


def test_anonymous_plain_oauth_request_goes_to_login_as_before(client, confidential):
    oauth_client, _ = confidential
    params = request_params(oauth_client, scope="api", prompt="login", login_hint="ada")
    login = login_redirect(client.get("/oauth/authorize", params))
    assert "login_hint" not in login
    assert "prompt=login" in login["next"]


def test_the_example_login_page_fills_in_the_login_hint(client, confidential):
    oauth_client, _ = confidential
    login = client.get("/oauth/authorize", request_params(oauth_client, login_hint='ada"><b>'), follow=True)
    assert login.status_code == 200
    assert 'value="ada&quot;&gt;&lt;b&gt;"' in login.content.decode()
