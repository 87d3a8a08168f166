"""
Every JSON endpoint's answer to a fixed series of requests, as JSON on standard output:
``python -m tests.endpoint_answers`` under the ``DJANGO_SETTINGS_MODULE`` to be observed, signing
with the PEM key in ``TWENTY_TEST_SIGNING_KEY``.

Run in a process of its own, because DRF reads ``REST_FRAMEWORK`` into class attributes when it
is imported: only a process started with a host's settings shows what they do. Values that are
new on every run (tokens, secrets, ids, times) are replaced by their names; every other byte of
each answer is kept.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    django.setup()

    from django.core.management import call_command
    from django.test import override_settings
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    # One signing key for every run that is compared: the caller's (a PEM in the environment).
    with override_settings(TWENTY_OAUTH={"SIGNING_KEYS": [os.environ["TWENTY_TEST_SIGNING_KEY"]]}):
        json.dump(exchange(), sys.stdout, indent=1)


def exchange() -> list[dict]:
    from django.test import Client

    from tests.conftest import (
        REDIRECT,
        authorize,
        basic,
        code_request,
        decide_device,
        form,
        pkce_pair,
        query_of,
    )
    from tests.factories import UserFactory, make_client

    user = UserFactory(username="ada")
    app, app_secret = make_client(scope="api profile")
    service, service_secret = make_client(
        client_name="Service",
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
        client_credentials_allowed=True,
    )
    public, _ = make_client(token_endpoint_auth_method="none", client_name="Public App")

    http = Client()
    answers: list[dict] = []
    fresh: set[str] = {app.client_id, app_secret, service.client_id, service_secret, public.client_id}

    def record(name: str, response) -> dict:
        body = response.content
        parsed = None
        if response.get("Content-Type", "").startswith("application/json") and body:
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                for key in (
                    "access_token",
                    "refresh_token",
                    "client_id",
                    "client_secret",
                    "jti",
                    "registration_access_token",
                    "device_code",
                    "user_code",
                ):
                    if isinstance(parsed.get(key), str):
                        fresh.add(parsed[key])
                for key in ("iat", "exp", "client_id_issued_at", "client_secret_expires_at"):
                    if isinstance(parsed.get(key), int) and parsed[key] > 10**9:
                        body = body.replace(f'"{key}": {parsed[key]}'.encode(), f'"{key}": "{key}"'.encode())
        text = body.decode()
        for value in sorted(fresh, key=len, reverse=True):
            text = text.replace(value, "<fresh>")
        headers = {k: v for k, v in response.items() if k.lower() != "content-length"}
        answers.append({"name": name, "status": response.status_code, "headers": headers, "body": text})
        return parsed or {}

    post_form = "application/x-www-form-urlencoded"
    cc = {"grant_type": "client_credentials", "scope": "api"}
    service_basic = basic(service.client_id, service_secret)

    record("server metadata", http.get("/.well-known/oauth-authorization-server"))
    record(
        "server metadata, Accept html",
        http.get("/.well-known/oauth-authorization-server", HTTP_ACCEPT="text/html"),
    )
    record("server metadata, POST", http.post("/.well-known/oauth-authorization-server"))
    record("resource metadata", http.get("/.well-known/oauth-protected-resource"))
    record("jwks", http.get("/oauth/jwks"))
    record("jwks, HEAD", http.head("/oauth/jwks"))
    record(
        "token preflight",
        http.options(
            "/oauth/token", HTTP_ORIGIN="https://app.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
        ),
    )
    record("introspection preflight", http.options("/oauth/introspect", HTTP_ORIGIN="https://app.example"))
    record("token, GET", http.get("/oauth/token"))
    record("token, no body", http.post("/oauth/token"))
    record("token, JSON body", http.post("/oauth/token", json.dumps(cc), content_type="application/json"))
    record("token, query", http.post("/oauth/token?scope=api", form(cc), content_type=post_form))
    record("token, repeated", http.post("/oauth/token", "grant_type=a&grant_type=b", content_type=post_form))
    record("token, NUL", http.post("/oauth/token", "grant_type=a%00", content_type=post_form))
    record("token, not UTF-8", http.post("/oauth/token", b"grant_type=\xff", content_type=post_form))
    record("token, too large", http.post("/oauth/token", "x=" + "a" * 70000, content_type=post_form))
    record(
        "token, bad grant",
        http.post("/oauth/token", form({"grant_type": "password"}), content_type=post_form),
    )
    record(
        "token, wrong secret",
        http.post(
            "/oauth/token", form(cc), content_type=post_form, HTTP_AUTHORIZATION=basic(service.client_id, "x")
        ),
    )
    record(
        "client credentials",
        http.post("/oauth/token", form(cc), content_type=post_form, HTTP_AUTHORIZATION=service_basic),
    )
    record(
        "client credentials, Accept html",
        http.post(
            "/oauth/token",
            form(cc),
            content_type=post_form,
            HTTP_AUTHORIZATION=service_basic,
            HTTP_ACCEPT="text/html",
        ),
    )

    registration = {"client_name": "Café", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    registered = record(
        "register", http.post("/oauth/register", json.dumps(registration), content_type="application/json")
    )
    record(
        "register, form body",
        http.post("/oauth/register", form({"client_name": "x"}), content_type=post_form),
    )
    record(
        "register, bad redirect",
        http.post(
            "/oauth/register",
            json.dumps({"redirect_uris": ["http://a.example/cb"]}),
            content_type="application/json",
        ),
    )
    record(
        "register, number for text",
        http.post(
            "/oauth/register", json.dumps({**registration, "client_name": 7}), content_type="application/json"
        ),
    )
    record("register, not an object", http.post("/oauth/register", "[1]", content_type="application/json"))
    record(
        "register, deep", http.post("/oauth/register", "[" * 40 + "]" * 40, content_type="application/json")
    )

    # A browser session from here on: SessionAuthentication, were it used, would check CSRF.
    verifier, challenge = pkce_pair()
    code = query_of(authorize(http, user, app, scope="api profile", challenge=challenge)["Location"])["code"]
    fresh.add(code)
    issued = record(
        "code exchange",
        http.post(
            "/oauth/token", form(code_request(app, code, verifier, app_secret)), content_type=post_form
        ),
    )
    refreshed = record(
        "refresh",
        http.post(
            "/oauth/token",
            form(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": issued.get("refresh_token", ""),
                    "client_id": app.client_id,
                    "client_secret": app_secret,
                }
            ),
            content_type=post_form,
        ),
    )
    access = refreshed.get("access_token", "")
    record("userinfo", http.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}"))
    record("userinfo, POST", http.post("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access}"))
    record("userinfo, no token", http.get("/oauth/userinfo"))
    record("userinfo, bad token", http.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer nope"))
    record(
        "introspection",
        http.post(
            "/oauth/introspect",
            form({"token": access}),
            content_type=post_form,
            HTTP_AUTHORIZATION=service_basic,
        ),
    )
    record(
        "introspection, public client",
        http.post(
            "/oauth/introspect",
            form({"token": access, "client_id": public.client_id}),
            content_type=post_form,
        ),
    )
    record(
        "revocation",
        http.post(
            "/oauth/revoke",
            form({"token": access, "client_id": app.client_id, "client_secret": app_secret}),
            content_type=post_form,
        ),
    )
    record(
        "revocation, no token",
        http.post("/oauth/revoke", form({"client_id": public.client_id}), content_type=post_form),
    )

    # RFC 7592: the client registered above manages itself, still within the browser session.
    configuration = registered["registration_client_uri"].removeprefix("http://testserver")
    management = {"HTTP_AUTHORIZATION": f"Bearer {registered['registration_access_token']}"}
    update = {**registration, "client_id": registered["client_id"], "client_name": "Café 2"}
    record("configuration, read", http.get(configuration, **management))
    record("configuration, read without a token", http.get(configuration))
    record("configuration, read with a wrong token", http.get(configuration, HTTP_AUTHORIZATION="Bearer x"))
    record("configuration, POST", http.post(configuration, **management))
    record("configuration, preflight", http.options(configuration, HTTP_ORIGIN="https://app.example"))
    record(
        "configuration, form body",
        http.put(configuration, form({"client_name": "x"}), content_type=post_form, **management),
    )
    record(
        "configuration, another client_id",
        http.put(
            configuration,
            json.dumps({**update, "client_id": public.client_id}),
            content_type="application/json",
            **management,
        ),
    )
    updated = record(
        "configuration, update",
        http.put(configuration, json.dumps(update), content_type="application/json", **management),
    )
    record(
        "configuration, update with the spent token",
        http.put(configuration, json.dumps(update), content_type="application/json", **management),
    )
    management = {"HTTP_AUTHORIZATION": f"Bearer {updated.get('registration_access_token', '')}"}
    record("configuration, delete", http.delete(configuration, **management))
    record("configuration, read once deleted", http.get(configuration, **management))
    # The device authorization grant (RFC 8628): codes, a pending poll, the approved redemption.
    device, _ = make_client(
        client_name="Device",
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        redirect_uris=[],
    )
    fresh.add(device.client_id)
    device_form = {"client_id": device.client_id, "scope": "api"}
    started = record(
        "device authorization",
        http.post("/oauth/device_authorization", form(device_form), content_type=post_form),
    )
    record(
        "device authorization, JSON body",
        http.post("/oauth/device_authorization", json.dumps(device_form), content_type="application/json"),
    )
    record(
        "device authorization, query",
        http.post(f"/oauth/device_authorization?{form(device_form)}", "", content_type=post_form),
    )
    record(
        "device authorization, not registered for it",
        http.post(
            "/oauth/device_authorization", form({"client_id": public.client_id}), content_type=post_form
        ),
    )
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": started.get("device_code", ""),
        "client_id": device.client_id,
    }
    record("device poll, pending", http.post("/oauth/token", form(poll), content_type=post_form))
    decide_device(http, user, started.get("user_code", ""))
    record("device poll, approved", http.post("/oauth/token", form(poll), content_type=post_form))
    return answers


if __name__ == "__main__":
    main()
