"""
The whole OAuth flow against the user model that ``tests.usermodels.settings`` installs, in a
process of its own::

    TWENTY_USER_MODEL=uuid DJANGO_SETTINGS_MODULE=tests.usermodels.settings \\
        python -m tests.usermodels.flow

It creates a test database (in-memory SQLite, or a PostgreSQL database of its own with
``TWENTY_DB=postgres``), migrates it, speaks HTTP to the example site with Django's test client
and exits non-zero, naming the step, at the first answer that is not the expected one. It prints
no token and no secret: a response body is shown only when it is an error.
"""

from __future__ import annotations

import json
import os
import sys

import django

CHALLENGE_PREFIX = "Bearer "
ISSUER = "http://testserver"
REDIRECT = "https://app.example.com/callback"
COMPANIES = ["Airbnb", "Figma", "Notion", "Qonto", "Stripe"]
PASSWORD = "correct horse battery staple"


def expect(response, status: int, step: str) -> None:
    if response.status_code != status:
        # Error bodies hold no token; a success that was not expected might.
        shown = response.content.decode(errors="replace") if response.status_code >= 400 else "(withheld)"
        raise AssertionError(f"{step}: expected {status}, got {response.status_code}: {shown}")


def check(condition: bool, step: str) -> None:
    if not condition:
        raise AssertionError(step)


def create_user():
    from django.contrib.auth import get_user_model

    model = get_user_model()
    fields = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
    if model.USERNAME_FIELD != "email":
        fields[model.USERNAME_FIELD] = "ada"
    return model._default_manager.create_user(password=PASSWORD, **fields)


def sign_in(http, user) -> None:
    """The site's own login form, which asks for the user model's USERNAME_FIELD."""
    response = http.post("/accounts/login/", {"username": user.get_username(), "password": PASSWORD})
    expect(response, 302, "login")
    check(response["Location"] == "/", f"login redirects home, not to {response['Location']}")


def register(http) -> tuple[str, str]:
    """RFC 7591 §3.1: a confidential client registers itself."""
    metadata = {
        "client_name": "Flow App",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "api profile",
    }
    response = http.post("/oauth/register", json.dumps(metadata), content_type="application/json")
    expect(response, 201, "registration")
    check(response["Cache-Control"] == "no-store", "registration answer is not cached")
    body = response.json()
    check(body["client_name"] == "Flow App", "registration echoes the metadata")
    return body["client_id"], body["client_secret"]


def consent(http, user, client_id: str, challenge: str) -> str:
    """RFC 6749 §4.1.1-§4.1.2 with RFC 7636 §4.3: the signed-in user approves; returns the code."""
    from tests.conftest import query_of

    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "api profile",
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = http.get("/oauth/authorize", params)
    expect(page, 200, "consent page")
    check(user.get_username() in page.content.decode(), "consent page names the signed-in user")
    decision = http.post("/oauth/authorize", {"request": page.context["signed_request"], "allow": "1"})
    expect(decision, 302, "consent POST")
    location = decision["Location"]
    check(location.startswith(REDIRECT + "?"), "the code goes to the registered redirect URI")
    answer = query_of(location)
    check(answer["state"] == "s-1" and answer["iss"] == ISSUER, "state and iss come back (RFC 9207)")
    return answer["code"]


def token(http, data: dict, step: str, status: int = 200, **headers) -> dict:
    from tests.conftest import form

    body = form(data)
    response = http.post("/oauth/token", body, content_type="application/x-www-form-urlencoded", **headers)
    expect(response, status, step)
    check(response["Cache-Control"] == "no-store", f"{step}: token answers are not cached")
    return response.json()


def api(http, access_token: str):
    return http.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def api_accepts(http, access_token: str, step: str) -> None:
    response = api(http, access_token)
    expect(response, 200, step)
    check([c["name"] for c in response.json()] == COMPANIES, f"{step}: the companies")


def api_refuses(http, access_token: str, step: str) -> None:
    response = api(http, access_token)
    expect(response, 401, step)
    check('error="invalid_token"' in response["WWW-Authenticate"], f"{step}: invalid_token challenge")


def introspect(http, client_id: str, secret: str, value: str) -> dict:
    from tests.conftest import basic, form

    response = http.post(
        "/oauth/introspect",
        form({"token": value}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )
    expect(response, 200, "introspection")
    return response.json()


def bearer_check_queries(http, access_token: str) -> int:
    """Queries of one call to the protected API: the token's row, then the view's own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        api_accepts(http, access_token, "bearer call, counted")
    return len(queries)


def user_flow(http, user) -> None:
    from django.contrib.auth import get_user_model

    from tests.conftest import form, pkce_pair

    sign_in(http, user)
    client_id, secret = register(http)
    verifier, challenge = pkce_pair()
    code = consent(http, user, client_id, challenge)
    credentials = {"client_id": client_id, "client_secret": secret}
    first = token(
        http,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            **credentials,
        },
        "code exchange",
    )
    check(first["token_type"] == "Bearer" and first["scope"] == "api profile", "code exchange body")
    check(bool(first.get("refresh_token")), "a refresh token comes with the code exchange")

    page = http.get("/oauth/apps")
    expect(page, 200, "authorized applications page")
    check("Flow App" in page.content.decode(), "the user's applications list the one just approved")

    api_accepts(http, first["access_token"], "bearer call")
    queries = bearer_check_queries(http, first["access_token"])
    check(queries == 2, f"a bearer call makes 2 queries, not {queries}")

    response = http.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    expect(response, 200, "userinfo")
    expected = {
        "sub": str(user.pk),
        "name": "Ada Lovelace",
        "preferred_username": user.get_username(),
        "email": "ada@example.com",
    }
    check(response.json() == expected, f"userinfo claims: {response.json()} != {expected}")

    described = introspect(http, client_id, secret, first["access_token"])
    check(described["active"] is True and described["sub"] == str(user.pk), "introspected access token")
    check(described["client_id"] == client_id and described["scope"] == "api profile", "its claims")
    described = introspect(http, client_id, secret, first["refresh_token"])
    check(described["active"] is True and described["sub"] == str(user.pk), "introspected refresh token")
    check(described["token_type"] == "refresh_token", "introspection names the refresh token")

    refresh = {"grant_type": "refresh_token", **credentials}
    second = token(http, {**refresh, "refresh_token": first["refresh_token"]}, "refresh")
    check(second["refresh_token"] != first["refresh_token"], "refresh rotates the refresh token")
    api_accepts(http, second["access_token"], "bearer call with the refreshed token")

    # The user's own row, wherever its columns live, is read on every bearer check. A queryset
    # update sends no signal, so the grant lives on and only the check can refuse it.
    users = get_user_model()._default_manager.filter(pk=user.pk)
    users.update(is_active=False)
    api_refuses(http, second["access_token"], "bearer call for a deactivated user")
    users.update(is_active=True)
    api_accepts(http, second["access_token"], "bearer call once the user is active again")

    response = http.post(
        "/oauth/revoke",
        form({"token": second["refresh_token"], **credentials}),
        content_type="application/x-www-form-urlencoded",
    )
    expect(response, 200, "revocation")
    gone = token(http, {**refresh, "refresh_token": second["refresh_token"]}, "refresh once revoked", 400)
    check(gone["error"] == "invalid_grant", "a revoked refresh token is invalid_grant")
    api_refuses(http, second["access_token"], "bearer call once the family is revoked")
    check(introspect(http, client_id, secret, second["access_token"]) == {"active": False}, "inactive")


def client_flow(http) -> None:
    """RFC 6749 §4.4: a token with no user, whose user column is NULL in every join."""
    from tests.conftest import basic
    from tests.factories import make_client

    service, secret = make_client(
        client_name="Service",
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
    )
    body = token(
        http,
        {"grant_type": "client_credentials", "scope": "api"},
        "client credentials",
        HTTP_AUTHORIZATION=basic(service.client_id, secret),
    )
    api_accepts(http, body["access_token"], "bearer call with a client's token")
    described = introspect(http, service.client_id, secret, body["access_token"])
    check(described["active"] is True and described["sub"] == service.client_id, "a client's own token")


def device_flow(http, user) -> None:
    """RFC 8628: a device client asks for codes, the user approves on the device page, the device polls."""
    from tests.conftest import DEVICE_CODE
    from twenty_oauth.protocol.verification import decode_access_token

    metadata = {
        "client_name": "Flow Device",
        "grant_types": [DEVICE_CODE, "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    response = http.post("/oauth/register", json.dumps(metadata), content_type="application/json")
    expect(response, 201, "device client registration")
    client_id = response.json()["client_id"]
    form = "application/x-www-form-urlencoded"
    started = http.post("/oauth/device_authorization", f"client_id={client_id}&scope=api", content_type=form)
    expect(started, 200, "device authorization")
    codes = started.json()
    poll = {"grant_type": DEVICE_CODE, "device_code": codes["device_code"], "client_id": client_id}
    token(http, poll, "pending poll", status=400)
    # A second device, never approved: its row keeps a NULL user.
    expect(
        http.post("/oauth/device_authorization", f"client_id={client_id}", content_type=form),
        200,
        "second device authorization",
    )
    sign_in(http, user)
    page = http.post("/oauth/device", {"user_code": codes["user_code"]})
    expect(page, 200, "device page: the code")
    expect(
        http.post("/oauth/device", {"grant": page.context["signed_grant"], "allow": "1"}),
        200,
        "device allowed",
    )
    body = token(http, poll, "device code redemption")
    api_accepts(http, body["access_token"], "bearer call with a device's token")
    claims = decode_access_token(body["access_token"], issuer=ISSUER)
    check(claims["sub"] == str(user.pk), "a device's token names the user who approved")


def same_row(found, expected, step: str) -> None:
    if expected is None:
        check(found is None, f"{step}: nothing")
        return
    check(type(found) is type(expected), f"{step}: {type(found).__name__} is {type(expected).__name__}")
    for field in expected._meta.concrete_fields:
        mine, orm = getattr(found, field.attname), getattr(expected, field.attname)
        check(mine == orm, f"{step}: {field.attname} is {mine!r}, not {orm!r}")


def lookups_match_the_orm() -> None:
    """Every row the flow left, read by the precompiled lookups and by select_related alike."""
    from twenty_oauth.models import AccessToken, DeviceGrant, RefreshToken
    from twenty_oauth.protocol import tokens, verification
    from twenty_oauth.protocol.grants import device_code

    for record in AccessToken.objects.select_related("client", "user"):
        found = verification._access_record.get(record.jti)
        same_row(found, record, "access token")
        same_row(found.client, record.client, "its client")
        same_row(found.user, record.user, "its user")
    for record in DeviceGrant.objects.select_related("user"):
        found = device_code._grant_record.get(record.device_code_digest)
        same_row(found, record, "device grant")
        same_row(found.user, record.user, "its user")
    for record in RefreshToken.objects.select_related("family__client", "family__user"):
        found = tokens._refresh_record.get(record.token_digest)
        same_row(found, record, "refresh token")
        same_row(found.family, record.family, "its family")
        same_row(found.family.user, record.family.user, "its user")
        check(found.consent_revoked is False, "the consent stands")


def system_checks() -> None:
    from django.core import checks

    serious = [str(message) for message in checks.run_checks() if message.is_serious()]
    check(not serious, f"system checks: {serious}")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.usermodels.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        system_checks()
        user = create_user()
        user_flow(Client(), user)
        client_flow(Client())
        device_flow(Client(), user)
        lookups_match_the_orm()
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
        teardown_test_environment()
    print(f"{settings.AUTH_USER_MODEL}: the whole flow answered as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
