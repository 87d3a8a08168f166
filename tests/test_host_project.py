"""
A real host site: a project made the way a new user makes one (``django-admin startproject``
with the installed Django, then the settings and URLs the README asks for), served by
``manage.py runserver`` and driven over HTTP on 127.0.0.1, once with twenty-oauth at the root
and once under ``auth/`` with an issuer that has that path, for each kind of user model a host
has: Django's own, an email-login one, a UUID primary key and multi-table inheritance.

The host has its user model, ``LocaleMiddleware``, Django's own ``LoginView`` and
restrictive ``REST_FRAMEWORK`` defaults (admins only, JSON only, two anonymous requests an hour,
three per user): twenty-oauth's endpoints keep their own policies, and the host's API view keeps
the host's throttle. Every step is checked as a client sees it: discovery at the RFC 8414 §3.1
and RFC 9728 §3.1 locations, registration (RFC 7591), sign-in through the login form with its
CSRF token, consent, the code exchange with PKCE (RFC 7636), the API call (RFC 6750), userinfo,
refresh (RFC 6749 §6), revocation (RFC 7009), client credentials and introspection (RFC 7662),
a public client, the admin's client list and the user's applications page,
"Not you?" on the consent page, and two client-credentials clients that keep a throttle bucket
each.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import pkce_pair
from tests.live import ROOT, Browser, call, free_port, running

pytestmark = pytest.mark.live

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
REDIRECT = "http://127.0.0.1/callback"

EMAIL_USER = """
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        return self.create_user(email, password, is_staff=True, is_superuser=True, **fields)


class User(AbstractUser):
    username = None
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()
"""

UUID_USER = """
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
"""

INHERITED_USER = """
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Account(AbstractUser):
    pass


class Member(Account):
    team = models.CharField(max_length=100, blank=True)

    objects = UserManager()
"""

#: Each kind of user model: (AUTH_USER_MODEL or None, the accounts app's models, who signs in).
USER_MODELS = {
    "django-user": (None, "", "ada"),
    "email-login": ("accounts.User", EMAIL_USER, EMAIL),
    "uuid-pk": ("accounts.User", UUID_USER, "ada"),
    "multi-table": ("accounts.Member", INHERITED_USER, "ada"),
}

API = """
from rest_framework.response import Response
from rest_framework.views import APIView

from twenty_oauth.drf import BearerTokenAuthentication, HasScope


class Me(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScope("api")]

    def get(self, request):
        return Response({"email": request.user.email, "client_id": request.auth.claims["client_id"]})


class Ping(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScope("api")]
    throttle_scope = "ping"

    def get(self, request):
        return Response({"client_id": request.auth.claims["client_id"]})
"""

LOGIN_TEMPLATE = """<form method="post">{% csrf_token %}{{ form.as_p }}
<input type="hidden" name="next" value="{{ next }}"><button>Sign in</button></form>
"""

SETTINGS = """
INSTALLED_APPS += ["rest_framework", "twenty_oauth", "accounts"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
    "django.middleware.locale.LocaleMiddleware",
)
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "2/hour", "user": "3/hour", "ping": "1/hour"},
}
TWENTY_OAUTH = {"ISSUER": %r}
"""

URLS = """
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from host.api import Me, Ping

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("api/me", Me.as_view()),
    path("api/ping", Ping.as_view()),
%s
]
"""
ROOT_MOUNT = '    path("", include("twenty_oauth.urls")),'
PREFIX_MOUNT = '    path("auth/", include("twenty_oauth.urls")),'
DISCOVERY = '    path("", include("twenty_oauth.discovery_urls")),'


def host_env() -> dict[str, str]:
    """The host's own settings module; this checkout's twenty-oauth ahead of any installed copy."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "TWENTY_DB")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def manage(site: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=site,
        env={**host_env(), **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def configure(site: Path, issuer: str, *mount: str) -> None:
    """What the integrator edits: the settings' issuer and the URLconf's includes."""
    original = (site / "host" / "settings.py.orig").read_text()
    model = (site / "accounts" / "user_model.txt").read_text()
    user_model = f"AUTH_USER_MODEL = {model!r}\n" if model else ""
    (site / "host" / "settings.py").write_text(original + SETTINGS % issuer + user_model)
    (site / "host" / "urls.py").write_text(URLS % "\n".join(mount))


@pytest.fixture(scope="module", params=list(USER_MODELS))
def site(request, tmp_path_factory) -> Path:
    """A new project with an accounts app and its user model, migrated, with one superuser."""
    user_model, models, login = USER_MODELS[request.param]
    site = tmp_path_factory.mktemp("host")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "host", str(site)],
        env=host_env(),
        check=True,
        capture_output=True,
    )
    settings = site / "host" / "settings.py"
    settings.rename(site / "host" / "settings.py.orig")
    (site / "host" / "api.py").write_text(API)
    (site / "accounts" / "migrations").mkdir(parents=True)
    for name in ("__init__.py", "migrations/__init__.py"):
        (site / "accounts" / name).write_text("")
    (site / "accounts" / "models.py").write_text(models)
    (site / "accounts" / "user_model.txt").write_text(user_model or "")
    (site / "login.txt").write_text(login)
    (site / "templates" / "registration").mkdir(parents=True)
    (site / "templates" / "registration" / "login.html").write_text(LOGIN_TEMPLATE)
    configure(site, "http://127.0.0.1", ROOT_MOUNT)
    if models:
        manage(site, "makemigrations", "accounts", "--verbosity", "0")
    manage(site, "migrate", "--verbosity", "0")
    names = {} if login == EMAIL else {"DJANGO_SUPERUSER_USERNAME": login}
    manage(
        site,
        "createsuperuser",
        "--noinput",
        DJANGO_SUPERUSER_EMAIL=EMAIL,
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        **names,
    )
    return site


def serve(site: Path, port: int, ready: str):
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return running(command, site, host_env(), f"http://127.0.0.1:{port}{ready}", log=site / "server.log")


def get_json(base: str, path: str, **headers: str) -> tuple[int, dict, dict]:
    status, answer_headers, body = call(base, "GET", path, headers=headers)
    return status, answer_headers, json.loads(body) if body else {}


def drive(site: Path, base: str, issuer: str, prefix: str) -> None:
    """The whole life of one client against the served host, the endpoints under ``prefix``."""
    login_name = (site / "login.txt").read_text()
    issuer_path = urllib.parse.urlsplit(issuer).path
    status, headers, server = get_json(base, f"/.well-known/oauth-authorization-server{issuer_path}")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert server["issuer"] == issuer
    for field, name in (("authorization_endpoint", "authorize"), ("token_endpoint", "token")):
        assert server[field] == f"{base}{prefix}/oauth/{name}"
    assert server["registration_endpoint"] == f"{base}{prefix}/oauth/register"

    def path(url: str) -> str:
        assert url.startswith(base), url
        return url.removeprefix(base)

    # The host's API names its metadata in the challenge (RFC 9728 §5.1); the URL answers.
    status, headers, _ = call(base, "GET", "/api/me")
    assert status == 401
    challenge = r'Bearer resource_metadata="([^"]+)", DPoP algs="ES256 RS256 PS256 EdDSA"'
    metadata_url = re.fullmatch(challenge, headers["WWW-Authenticate"]).group(1)
    assert metadata_url == f"{base}/.well-known/oauth-protected-resource{issuer_path}"
    status, _, resource = get_json(base, path(metadata_url))
    assert status == 200
    assert resource["resource"] == issuer and resource["authorization_servers"] == [issuer]

    metadata = {
        "client_name": f"Host App {prefix or 'root'}",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "api profile",
    }
    status, _, body = call(base, "POST", path(server["registration_endpoint"]), json_body=metadata)
    assert status == 201, body
    registered = json.loads(body)
    client_auth = {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}

    # A person signs in through the host's login form, then consents, in French.
    browser = Browser(base)
    verifier, challenge = pkce_pair()
    query = urllib.parse.urlencode(
        {
            "client_id": registered["client_id"],
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "api profile",
            "state": "host",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    authorize = path(server["authorization_endpoint"])
    status, headers, _ = browser.request("GET", f"{authorize}?{query}")
    assert status == 302
    login = urllib.parse.urlsplit(headers["Location"])
    assert login.path == "/accounts/login/"
    next_url = urllib.parse.parse_qs(login.query)["next"][0]
    assert next_url == f"{authorize}?{query}"
    status, _, page = browser.request("GET", f"/accounts/login/?{login.query}")
    assert status == 200 and b'name="csrfmiddlewaretoken"' in page
    form = {"username": login_name, "password": PASSWORD, "next": next_url}
    status, headers, _ = browser.request(
        "POST", "/accounts/login/", {**form, "csrfmiddlewaretoken": browser.csrf()}
    )
    assert status == 302 and headers["Location"] == next_url
    status, headers, page = browser.request("GET", next_url, headers={"Accept-Language": "fr"})
    assert status == 200 and headers["Content-Language"] == "fr"
    assert "demande l’accès à votre compte".encode() in page

    # "Not you?" signs out (a POST with the CSRF token) and comes back through the login page.
    action = re.search(rb'<form method="post" action="([^"]+)">', page).group(1).decode()
    switch_next = re.search(rb'name="next" value="([^"]+)"', page).group(1).decode().replace("&amp;", "&")
    status, headers, _ = browser.request(
        "POST",
        action,
        {"next": switch_next, "csrfmiddlewaretoken": browser.csrf()},
        {"Referer": base + next_url},
    )
    assert status == 302
    signed_out = urllib.parse.urlsplit(headers["Location"])
    assert signed_out.path == "/accounts/login/"
    assert urllib.parse.parse_qs(signed_out.query)["next"] == [next_url]
    status, headers, _ = browser.request("GET", next_url)
    assert status == 302 and urllib.parse.urlsplit(headers["Location"]).path == "/accounts/login/"
    browser.request("GET", f"/accounts/login/?{login.query}")
    status, headers, _ = browser.request(
        "POST", "/accounts/login/", {**form, "csrfmiddlewaretoken": browser.csrf()}
    )
    assert status == 302 and headers["Location"] == next_url
    granted = browser.approve(query, endpoint=authorize)
    assert granted["state"] == "host" and granted["iss"] == issuer

    token = path(server["token_endpoint"])
    exchange = {
        "grant_type": "authorization_code",
        "code": granted["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **client_auth,
    }
    status, headers, body = call(base, "POST", token, form=exchange)
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    tokens = json.loads(body)
    status, _, me = get_json(base, "/api/me", Authorization=f"Bearer {tokens['access_token']}")
    assert status == 200 and me == {"email": EMAIL, "client_id": registered["client_id"]}

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **client_auth}
    status, _, body = call(base, "POST", token, form=refresh)
    assert status == 200, body
    renewed = json.loads(body)
    assert renewed["refresh_token"] != tokens["refresh_token"]
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    assert get_json(base, "/api/me", **bearer)[0] == 200
    # The token holds profile: userinfo names the same user (OpenID Connect Core §5.3).
    status, _, claims = get_json(base, path(server["userinfo_endpoint"]), **bearer)
    assert status == 200 and claims["email"] == EMAIL
    # The host's own view keeps the host's UserRateThrottle: three an hour for this user.
    assert get_json(base, "/api/me", **bearer)[0] == 200
    status, headers, _ = get_json(base, "/api/me", **bearer)
    assert status == 429 and int(headers["Retry-After"]) > 0

    # Staff see the client in the admin; the person sees the application on their own page.
    status, _, page = browser.request("GET", "/admin/twenty_oauth/client/")
    assert status == 200 and metadata["client_name"].encode() in page
    status, _, page = browser.request("GET", f"{prefix}/oauth/apps")
    assert status == 200 and metadata["client_name"].encode() in page

    revoke = {"token": renewed["refresh_token"], **client_auth}
    status, _, body = call(base, "POST", path(server["revocation_endpoint"]), form=revoke)
    assert status == 200 and json.loads(body) == {}
    status, headers, _ = call(base, "GET", "/api/me", headers=bearer)
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]

    # Two services with client-credentials tokens: the host's throttle keeps a bucket for each.
    services = []
    for name in ("Billing", "Reports"):
        made = manage(
            site,
            "oauth_create_client",
            "--name",
            f"{name} {prefix or 'root'}",
            "--grant-type",
            "client_credentials",
            "--auth-method",
            "client_secret_post",
            # Reports is a resource server: an administrator lets it introspect (RFC 7662 §2.1).
            *(["--allow-introspection"] if name == "Reports" else []),
            "--json",
        )
        information = json.loads(made.stdout)
        credentials = {"grant_type": "client_credentials", "scope": "api"}
        credentials.update(client_id=information["client_id"], client_secret=information["client_secret"])
        status, _, body = call(base, "POST", token, form=credentials)
        assert status == 200, body
        services.append((information["client_id"], json.loads(body)["access_token"], credentials))
    for client_id, access_token, _ in services:
        status, _, answer = get_json(base, "/api/ping", Authorization=f"Bearer {access_token}")
        assert status == 200 and answer == {"client_id": client_id}
    status, headers, _ = get_json(base, "/api/ping", Authorization=f"Bearer {services[0][1]}")
    assert status == 429 and int(headers["Retry-After"]) > 0

    # A resource server allowed to introspect (RFC 7662): the revoked token is inactive.
    introspect = path(server["introspection_endpoint"])
    resource_server = {k: services[1][2][k] for k in ("client_id", "client_secret")}
    status, _, body = call(base, "POST", introspect, form={"token": services[0][1], **resource_server})
    assert status == 200 and json.loads(body)["active"] is True
    # Billing was not allowed: Reports' token is inactive to it, its own is not.
    billing = {k: services[0][2][k] for k in ("client_id", "client_secret")}
    status, _, body = call(base, "POST", introspect, form={"token": services[1][1], **billing})
    assert status == 200 and json.loads(body) == {"active": False}
    status, _, body = call(base, "POST", introspect, form={"token": services[0][1], **billing})
    assert status == 200 and json.loads(body)["active"] is True
    status, _, body = call(
        base, "POST", introspect, form={"token": renewed["access_token"], **resource_server}
    )
    assert status == 200 and json.loads(body) == {"active": False}

    # A public client (a CLI, an MCP agent): no secret, PKCE, the same signed-in person.
    public = {"client_name": "Host CLI", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    status, _, body = call(base, "POST", path(server["registration_endpoint"]), json_body=public)
    assert status == 201 and "client_secret" not in json.loads(body), body
    cli = json.loads(body)["client_id"]
    verifier, challenge = pkce_pair()
    query = urllib.parse.urlencode(
        {
            "client_id": cli,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "api",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    granted = browser.approve(query, endpoint=authorize)
    exchange = {"grant_type": "authorization_code", "code": granted["code"], "redirect_uri": REDIRECT}
    status, _, body = call(
        base, "POST", token, form={**exchange, "code_verifier": verifier, "client_id": cli}
    )
    assert status == 200, body
    assert "refresh_token" in json.loads(body)


def test_a_new_project_with_twenty_oauth_at_its_root(site):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    configure(site, issuer, ROOT_MOUNT)
    with serve(site, port, "/.well-known/oauth-authorization-server"):
        drive(site, issuer, issuer, "")


def test_a_new_project_with_twenty_oauth_under_a_prefix(site):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    issuer = f"{base}/auth"
    configure(site, issuer, PREFIX_MOUNT)
    # Forgetting the discovery include is caught before anything is served.
    forgot = manage(site, "check", check=False)
    assert forgot.returncode == 1
    assert "twenty_oauth.E024" in forgot.stderr
    assert f"Add this line to its urlpatterns: {DISCOVERY.strip().rstrip(',')}" in forgot.stderr
    configure(site, issuer, PREFIX_MOUNT, DISCOVERY)
    with serve(site, port, "/.well-known/oauth-authorization-server/auth"):
        drive(site, base, issuer, "/auth")
