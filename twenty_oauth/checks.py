"""System checks for ``TWENTY_OAUTH`` (``manage.py check``) and its deployment (``check --deploy``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from twenty_oauth.conf import HOOKS, SETTINGS

HINT = "See the settings table in twenty-oauth's README."


@checks.register(checks.Tags.security)
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Errors for an unknown key, a value of the wrong type, or values that contradict each other."""
    user = getattr(settings, "TWENTY_OAUTH", None)
    if user is None:
        return []
    if not isinstance(user, dict):
        return [checks.Error("TWENTY_OAUTH must be a dict.", hint=HINT, id="twenty_oauth.E001")]
    errors: list[checks.CheckMessage] = []
    for name, value in user.items():
        if name not in SETTINGS:
            errors.append(
                checks.Error(f"TWENTY_OAUTH has an unknown key {name!r}.", hint=HINT, id="twenty_oauth.E002")
            )
            continue
        types = SETTINGS[name][1]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            errors.append(
                checks.Error(
                    f"TWENTY_OAUTH[{name!r}] must be {expected}, not {type(value).__name__}.",
                    hint=HINT,
                    id="twenty_oauth.E003",
                )
            )
    if errors:
        return errors
    errors += _check_values(user)
    return errors


def _check_values(user: dict) -> list[checks.CheckMessage]:
    from twenty_oauth import ratelimit

    errors = []

    def error(message: str, hint: str, number: int) -> None:
        errors.append(checks.Error(message, hint=hint, id=f"twenty_oauth.E{number:03d}"))

    scopes = user.get("SCOPES", SETTINGS["SCOPES"][0])
    if not scopes or not all(isinstance(k, str) and isinstance(v, str) and k for k, v in scopes.items()):
        error("TWENTY_OAUTH['SCOPES'] must map scope names to descriptions.", HINT, 10)
    for scope in user.get("DEFAULT_SCOPES", SETTINGS["DEFAULT_SCOPES"][0]):
        if scope not in scopes:
            error(
                f"TWENTY_OAUTH['DEFAULT_SCOPES'] names {scope!r}, which is not in SCOPES.",
                "Add it to SCOPES or remove it from DEFAULT_SCOPES.",
                11,
            )
    if user.get("PKCE_REQUIRED", "public") not in ("public", "all"):
        error("TWENTY_OAUTH['PKCE_REQUIRED'] must be 'public' or 'all'.", HINT, 12)
    if user.get("SIGNING_ALGORITHM", "ES256") not in ("ES256", "RS256"):
        error("TWENTY_OAUTH['SIGNING_ALGORITHM'] must be 'ES256' or 'RS256'.", HINT, 13)
    for name in ("REGISTRATION_RATE_LIMIT", "CLIENT_AUTH_FAILURE_LIMIT"):
        if user.get(name):
            try:
                ratelimit.parse_rate(user[name])
            except ValueError as exc:
                error(f"TWENTY_OAUTH[{name!r}]: {exc}", "Write it as 'count/period', e.g. '20/m'.", 14)
    for name in ("ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME", "AUTHORIZATION_CODE_LIFETIME"):
        if name in user and user[name] <= 0:
            error(f"TWENTY_OAUTH[{name!r}] must be a positive number of seconds.", HINT, 15)
    if user.get("AUTHORIZATION_CODE_LIFETIME", 60) > 600:
        error(
            "TWENTY_OAUTH['AUTHORIZATION_CODE_LIFETIME'] may be at most 600 seconds (RFC 6749 §4.1.2).",
            "Lower it; 60 seconds is plenty for a client to redeem its code.",
            16,
        )
    for name in HOOKS:
        if user.get(name):
            try:
                import_string(user[name])
            except ImportError:
                error(f"TWENTY_OAUTH[{name!r}] = {user[name]!r} cannot be imported.", HINT, 17)
    for pem in user.get("SIGNING_KEYS") or []:
        from twenty_oauth.keys import load_pem

        try:
            load_pem(pem)
        except (ValueError, TypeError) as exc:
            error(f"TWENTY_OAUTH['SIGNING_KEYS'] holds a key that cannot be used: {exc}", HINT, 18)
    if "RATE_LIMIT_CACHE" in user and user["RATE_LIMIT_CACHE"] not in settings.CACHES:
        error("TWENTY_OAUTH['RATE_LIMIT_CACHE'] names no cache in CACHES.", HINT, 19)
    issuer = user.get("ISSUER")
    if issuer:
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
            error(
                "TWENTY_OAUTH['ISSUER'] must be a URL with a scheme and host and no query or "
                "fragment (RFC 8414 §2).",
                "For example 'https://auth.example.com'.",
                20,
            )
    return errors


@checks.register(checks.Tags.security, deploy=True)
def check_deployment(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warnings for settings that are fine in development and unsafe in production."""
    from twenty_oauth.conf import oauth_settings

    warnings = []

    def warn(message: str, hint: str, number: int) -> None:
        warnings.append(checks.Warning(message, hint=hint, id=f"twenty_oauth.W{number:03d}"))

    issuer = oauth_settings.ISSUER
    if not issuer:
        warn(
            "TWENTY_OAUTH['ISSUER'] is not set: the issuer is taken from each request's Host header.",
            "Set it to your site's public https origin, e.g. 'https://auth.example.com'.",
            1,
        )
    elif not issuer.startswith("https://"):
        warn(
            "TWENTY_OAUTH['ISSUER'] is not https.",
            "Serve the authorization server over TLS (RFC 8414 §2).",
            2,
        )
    if not oauth_settings.SIGNING_KEYS:
        warn(
            "Access-token signing keys are not pinned in TWENTY_OAUTH['SIGNING_KEYS'].",
            "Keys live in the database and are created on first use. Pin them in settings, or manage "
            "them with 'manage.py oauth_keys' and keep the database backed up.",
            3,
        )
    try:
        backend = caches[oauth_settings.RATE_LIMIT_CACHE]
    except (ImproperlyConfigured, KeyError, Exception):  # noqa: BLE001
        backend = None
    if backend is not None and type(backend).__module__.startswith(
        ("django.core.cache.backends.locmem", "django.core.cache.backends.dummy")
    ):
        warn(
            "Rate limits use a process-local cache: each worker counts on its own.",
            "Point TWENTY_OAUTH['RATE_LIMIT_CACHE'] at a Redis or Memcached cache shared by all workers.",
            4,
        )
    if oauth_settings.ACCESS_TOKEN_LIFETIME > 3600:
        warn(
            "TWENTY_OAUTH['ACCESS_TOKEN_LIFETIME'] is above one hour.",
            "Short-lived access tokens limit the damage of a leak (RFC 9700 §4.14); use refresh tokens.",
            5,
        )
    if oauth_settings.AUTHORIZATION_CODE_LIFETIME > 60:
        warn(
            "TWENTY_OAUTH['AUTHORIZATION_CODE_LIFETIME'] is above 60 seconds.",
            "Codes are redeemed within seconds; a short lifetime narrows the window for a stolen code.",
            6,
        )
    if (
        oauth_settings.ALLOW_CLIENT_CREDENTIALS_FOR_REGISTERED_CLIENTS
        and oauth_settings.REGISTRATION_ENABLED
        and not oauth_settings.REGISTRATION_INITIAL_ACCESS_TOKEN
    ):
        warn(
            "Anyone can register a client and get a token with no user behind it (client_credentials).",
            "Unset ALLOW_CLIENT_CREDENTIALS_FOR_REGISTERED_CLIENTS or require an initial access token.",
            7,
        )
    if oauth_settings.CLIENT_METADATA_DOCUMENTS and oauth_settings.CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES:
        warn(
            "Client ID metadata documents may be fetched from private and loopback addresses: anyone can "
            "make this server send requests into its own network (SSRF).",
            "Unset TWENTY_OAUTH['CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES']; it is for tests.",
            8,
        )
    return warnings
