"""
The example site: a small Django project that uses twenty-oauth as a host would.

Environment variables: ``DJANGO_DEBUG`` (default on), ``DJANGO_SECRET_KEY`` (required once
``DJANGO_DEBUG=0``), ``DJANGO_ALLOWED_HOSTS`` (comma-separated; default the loopback names),
``DATABASE_URL``-like ``TWENTY_DB`` (``postgres`` to use the PostgreSQL on 127.0.0.1:5432,
database ``PGDATABASE`` or ``test``; ``TWENTY_PG_BINDING=client`` for Django's client-side binding),
``SQLITE_PATH``, ``TWENTY_OAUTH_ISSUER``,
``MCP_ALLOWED_ORIGINS`` (comma-separated).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("example-only-not-secret-do-not-deploy" if DEBUG else "")
if not SECRET_KEY:
    # Sessions, the consent form's signature and password resets all rest on this key.
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY: with DJANGO_DEBUG=0 the example will not use a public key."
    )
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "twenty_oauth",
    "example_project.companies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "example_project.wsgi.application"

if os.environ.get("TWENTY_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "NAME": os.environ.get("PGDATABASE", "test"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "CONN_MAX_AGE": 60,
            # Parameters bound by the server, and each statement prepared once a connection has
            # run it five times: PostgreSQL then skips planning it (README, "PostgreSQL in
            # production"). TWENTY_PG_BINDING=client keeps Django's default, values in the text.
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
            "TEST": {"NAME": os.environ.get("PGTESTDATABASE", "test_twenty_oauth")},
        }
    }
    if os.environ.get("TWENTY_PG_BINDING") == "client":
        DATABASES["default"]["OPTIONS"] = {}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            "OPTIONS": {
                # WAL lets readers run beside the writer; IMMEDIATE takes the write lock up front
                # so that two writers queue instead of failing half-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

TWENTY_OAUTH = {
    "ISSUER": os.environ.get("TWENTY_OAUTH_ISSUER") or None,
    "SCOPES": {
        "api": "Read and write your companies through the API",
        "profile": "See your name, username and email address",
    },
}

# Origins whose pages may call the MCP server at /mcp from a browser (CORS); any other Origin is
# refused with 403 (DNS rebinding). None: the site's own origin and http://127.0.0.1, localhost and
# [::1] on any port. An entry ending in ":*" allows any port.
MCP_ALLOWED_ORIGINS = [
    o.strip() for o in os.environ.get("MCP_ALLOWED_ORIGINS", "").split(",") if o.strip()
] or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "twenty_oauth": {"handlers": ["console"], "level": os.environ.get("TWENTY_OAUTH_LOG_LEVEL", "INFO")}
    },
}
