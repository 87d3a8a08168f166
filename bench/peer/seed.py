"""
Seed the django-oauth-toolkit site with what the scenarios spend (same protocol as bench.seed)::

    python -m bench.peer.seed setup
    python -m bench.peer.seed codes N FILE VARIANT SECRET    # VARIANT: default (hashed) or tuned
    python -m bench.peer.seed refresh N FILE VARIANT SECRET

Two variants of each application: ``default`` keeps django-oauth-toolkit's default of hashing the
client secret (Django's password hasher); ``tuned`` sets ``hash_client_secret=False``. Its
applications have one grant type each, so each variant has a client-credentials application and
an authorization-code one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
import uuid
from datetime import timedelta
from urllib.parse import quote, urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken  # noqa: E402

from example_project.companies.models import Company  # noqa: E402

REDIRECT_URI = "https://app.example.com/callback"
REGISTRATION = {
    "client_name": "Bench Integration",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code"],
    "token_endpoint_auth_method": "client_secret_post",
}
VARIANTS = {"default": True, "tuned": False}  # variant -> hash_client_secret


def _application(name: str, grant: str, hashed: bool) -> tuple[Application, str]:
    secret = secrets.token_urlsafe(32)
    app = Application(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant,
        redirect_uris=REDIRECT_URI if grant == Application.GRANT_AUTHORIZATION_CODE else "",
        client_secret=secret,
        hash_client_secret=hashed,
    )
    app.save()
    return app, secret


def setup() -> dict:
    call_command("migrate", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"email": "bench@example.com"}
    )
    state: dict = {
        "registration": json.dumps(REGISTRATION),
        "companies": list(Company.objects.values_list("name", flat=True)),
    }
    for variant, hashed in VARIANTS.items():
        cc, cc_secret = _application(f"cc {variant}", Application.GRANT_CLIENT_CREDENTIALS, hashed)
        code, code_secret = _application(f"code {variant}", Application.GRANT_AUTHORIZATION_CODE, hashed)
        pair = f"{quote(cc.client_id, safe='')}:{quote(cc_secret, safe='')}".encode()
        state[variant] = {
            "client_id": cc.client_id,
            "client_secret": cc_secret,
            "basic_authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
            "code_client_id": code.client_id,
            "code_client_secret": code_secret,
        }
    bearer = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=user,
        application=Application.objects.get(name="code default"),
        token=bearer,
        expires=timezone.now() + timedelta(hours=10),
        scope="api",
    )
    state["bearer"] = bearer
    return state


def codes(count: int, path: str, variant: str, secret: str) -> None:
    app = Application.objects.get(name=f"code {variant}")
    user = get_user_model().objects.get(username="bench")
    expires = timezone.now() + timedelta(seconds=600)
    lines = []
    with transaction.atomic():
        for _ in range(count):
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            code = secrets.token_urlsafe(30)
            Grant.objects.create(
                user=user,
                application=app,
                code=code,
                expires=expires,
                redirect_uri=REDIRECT_URI,
                scope="api",
                code_challenge=challenge.decode(),
                code_challenge_method="S256",
            )
            body = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": app.client_id,
                "client_secret": secret,
                "code_verifier": verifier,
            }
            lines.append(urlencode(body))
    _write(path, lines)


def refresh(count: int, path: str, variant: str, secret: str) -> None:
    app = Application.objects.get(name=f"code {variant}")
    user = get_user_model().objects.get(username="bench")
    expires = timezone.now() + timedelta(hours=1)
    lines = []
    with transaction.atomic():
        for _ in range(count):
            access = AccessToken.objects.create(
                user=user, application=app, token=secrets.token_urlsafe(30), expires=expires, scope="api"
            )
            value = secrets.token_urlsafe(30)
            RefreshToken.objects.create(
                user=user, application=app, token=value, access_token=access, token_family=uuid.uuid4()
            )
            body = {
                "grant_type": "refresh_token",
                "refresh_token": value,
                "client_id": app.client_id,
                "client_secret": secret,
            }
            lines.append(urlencode(body))
    _write(path, lines)


def _write(path: str, lines: list[str]) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write("\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "setup":
        print(json.dumps(setup()))
    elif command == "codes":
        codes(int(argv[1]), argv[2], argv[3], argv[4])
    elif command == "refresh":
        refresh(int(argv[1]), argv[2], argv[3], argv[4])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
