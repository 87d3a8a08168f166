"""
Settings of the relying party. ``RP_PROVIDER`` is the example site's issuer; ``RP_CLIENT_ID``
and ``RP_CLIENT_SECRET`` the client it registered there; ``RP_DATABASE`` its own SQLite file.
"""

import os

PROVIDER = os.environ.get("RP_PROVIDER", "http://127.0.0.1:18400")

SECRET_KEY = "relying-party-interop-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "interop.relying_party.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("RP_DATABASE", "relying-party.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
# Both sites run on 127.0.0.1, and a browser's cookies do not tell ports apart.
SESSION_COOKIE_NAME = "rp_sessionid"
CSRF_COOKIE_NAME = "rp_csrftoken"

AUTHENTICATION_BACKENDS = ["interop.relying_party.backends.ProviderBackend"]
LOGIN_URL = "oidc_authentication_init"
LOGIN_REDIRECT_URL = "/whoami"
LOGOUT_REDIRECT_URL = "/whoami"

# mozilla-django-oidc: the provider's endpoints, as its discovery document lists them.
OIDC_RP_CLIENT_ID = os.environ.get("RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = "ES256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_OP_AUTHORIZATION_ENDPOINT = f"{PROVIDER}/oauth/authorize"
OIDC_OP_TOKEN_ENDPOINT = f"{PROVIDER}/oauth/token"
OIDC_OP_USER_ENDPOINT = f"{PROVIDER}/oauth/userinfo"
OIDC_OP_JWKS_ENDPOINT = f"{PROVIDER}/oauth/jwks"
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "interop.relying_party.backends.provider_logout_url"
ALLOW_LOGOUT_GET_METHOD = True  # a test site with no page to carry a CSRF token
