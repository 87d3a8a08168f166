"""``TWENTY_OAUTH`` itself: unknown keys, wrong types, values that contradict each other (E0xx)."""

from __future__ import annotations

import difflib

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from twenty_oauth.conf import HOOKS, SETTINGS
from twenty_oauth.protocol import uris

HINT = "See the settings table in twenty-oauth's README."

#: RFC 9700 gives no number for refresh tokens; it asks that they end when a client has been
#: idle "for some time" (§4.14.2). Each refresh issues a token with this lifetime, so it is that
#: idle time; past this many days it hardly ends anything.
MAX_ADVISED_REFRESH_DAYS = 90

#: The most seconds any numeric setting may hold: a hundred years.
MAX_SECONDS = 100 * 365 * 86400


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


@checks.register(checks.Tags.security)
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Errors for an unknown key, a value of the wrong type, or values that contradict each other."""
    user = getattr(settings, "TWENTY_OAUTH", None)
    if user is None:
        return []
    if not isinstance(user, dict):
        return [
            checks.Error(
                f"TWENTY_OAUTH must be a dict, not {type(user).__name__}.",
                hint='Write it as TWENTY_OAUTH = {"ISSUER": "https://auth.example.com", ...}.',
                id="twenty_oauth.E001",
            )
        ]
    errors: list[checks.CheckMessage] = []
    for name, value in user.items():
        if name not in SETTINGS:
            close = difflib.get_close_matches(str(name), SETTINGS, n=1)
            errors.append(
                checks.Error(
                    f"TWENTY_OAUTH has an unknown key {name!r}.",
                    hint=f"Did you mean {close[0]!r}? {HINT}" if close else f"Remove it. {HINT}",
                    id="twenty_oauth.E002",
                )
            )
            continue
        _, types, doc = SETTINGS[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            errors.append(
                checks.Error(
                    f"TWENTY_OAUTH[{name!r}] must be {_type_names(types)}, not {type(value).__name__}.",
                    hint=f"{name}: {doc}",
                    id="twenty_oauth.E003",
                )
            )
    if errors:
        return errors
    errors += _check_values(user)
    return errors


def _check_values(user: dict) -> list[checks.CheckMessage]:
    from twenty_oauth.protocol import ratelimit, scopes

    errors = []

    def error(message: str, hint: str, number: int) -> None:
        errors.append(checks.Error(message, hint=hint, id=f"twenty_oauth.E{number:03d}"))

    registry = user.get("SCOPES", SETTINGS["SCOPES"][0])
    if not registry or not all(isinstance(k, str) and isinstance(v, str) and k for k, v in registry.items()):
        error(
            "TWENTY_OAUTH['SCOPES'] must map scope names to descriptions.",
            'For example {"api": "Read and write your data"}: the description is shown on the consent page.',
            10,
        )
        registry = {}
    for scope in registry:
        if isinstance(scope, str) and scope and not scopes.SCOPE_TOKEN_RE.fullmatch(scope):
            error(
                f"TWENTY_OAUTH['SCOPES'] names {scope!r}, which is not a valid scope (RFC 6749 §3.3).",
                "A scope is printable ASCII without spaces, double quotes or backslashes.",
                21,
            )
    for scope in user.get("DEFAULT_SCOPES", SETTINGS["DEFAULT_SCOPES"][0]):
        if not isinstance(scope, str):
            error(
                f"TWENTY_OAUTH['DEFAULT_SCOPES'] holds {scope!r}, which is not a string.",
                'List scope names, e.g. ["api"].',
                11,
            )
        elif registry and scope not in registry:
            error(
                f"TWENTY_OAUTH['DEFAULT_SCOPES'] names {scope!r}, which is not in SCOPES.",
                f"Add {scope!r} to SCOPES or remove it from DEFAULT_SCOPES.",
                11,
            )
    if user.get("PKCE_REQUIRED", "public") not in ("public", "all"):
        error(
            "TWENTY_OAUTH['PKCE_REQUIRED'] must be 'public' or 'all'.",
            "PKCE cannot be turned off: public clients always need it (RFC 9700 §2.1.1).",
            12,
        )
    if user.get("SIGNING_ALGORITHM", "ES256") not in ("ES256", "RS256"):
        error("TWENTY_OAUTH['SIGNING_ALGORITHM'] must be 'ES256' or 'RS256'.", "ES256 is the default.", 13)
    for name in (
        "REGISTRATION_RATE_LIMIT",
        "CLIENT_AUTH_FAILURE_LIMIT",
        "CLIENT_METADATA_FETCH_LIMIT",
        "CLIENT_METADATA_ADDRESS_LIMIT",
        "USER_CODE_FAILURE_LIMIT",
    ):
        if user.get(name) is not None:
            try:
                count, _ = ratelimit.parse_rate(user[name])
            except ValueError as exc:
                error(f"TWENTY_OAUTH[{name!r}]: {exc}", "Write it as 'count/period', e.g. '20/m'.", 14)
            else:
                if count == 0:
                    error(
                        f"TWENTY_OAUTH[{name!r}] allows nothing at all.",
                        "Give a count of 1 or more; None switches the limit off.",
                        14,
                    )
    for name, least in (
        ("ACCESS_TOKEN_LIFETIME", 1),
        ("ID_TOKEN_LIFETIME", 1),
        ("REFRESH_TOKEN_LIFETIME", 1),
        ("AUTHORIZATION_CODE_LIFETIME", 1),
        ("DEVICE_CODE_LIFETIME", 1),
        ("DEVICE_CODE_INTERVAL", 1),
        ("CLIENT_SECRET_LIFETIME", 0),
        ("CLIENT_METADATA_TIMEOUT", 1),
        ("KEY_CACHE_SECONDS", 0),
        ("CLIENT_METADATA_MAX_CACHE_SECONDS", 0),
        ("CLIENT_METADATA_MAX_CONCURRENT_FETCHES", 1),
        ("CLIENT_METADATA_FAILURE_CACHE_SECONDS", 0),
        ("CLIENT_METADATA_FAILURE_CACHE_SIZE", 0),
        ("MAX_REDIRECT_URIS", 1),
        ("CLIENT_ASSERTION_MAX_LIFETIME", 1),
        ("CLIENT_ASSERTION_CLOCK_SKEW", 0),
    ):
        # Past the upper bound a date computed from the value leaves what datetime can hold.
        if name in user and not least <= user[name] <= MAX_SECONDS:
            error(
                f"TWENTY_OAUTH[{name!r}] must be between {least} and {MAX_SECONDS}, not {user[name]}.",
                f"The default is {SETTINGS[name][0]}.",
                15,
            )
    if user.get("REGISTRATION_INITIAL_ACCESS_TOKEN") == "":
        error(
            "TWENTY_OAUTH['REGISTRATION_INITIAL_ACCESS_TOKEN'] is empty, which leaves registration open.",
            "Set a long random token, or None to leave registration open on purpose.",
            22,
        )
    resources = [user.get("DEFAULT_RESOURCE")] + list(user.get("ALLOWED_RESOURCES") or [])
    for resource in (r for r in resources if r is not None):
        if not (isinstance(resource, str) and uris.is_resource_indicator(resource)):
            error(
                f"TWENTY_OAUTH resource {resource!r} is not an absolute URI without a fragment "
                "(RFC 8707 §2).",
                "For example 'https://api.example.com'.",
                23,
            )
    if user.get("AUTHORIZATION_CODE_LIFETIME", 60) > 600:
        error(
            "TWENTY_OAUTH['AUTHORIZATION_CODE_LIFETIME'] may be at most 600 seconds (RFC 6749 §4.1.2).",
            "Lower it; 60 seconds is plenty for a client to redeem its code.",
            16,
        )
    for name in HOOKS:
        if user.get(name):
            try:
                problem = "" if callable(import_string(user[name])) else "is not callable."
            except Exception as exc:  # noqa: BLE001 - a bad path, or a module that fails to import
                problem = f"cannot be imported: {exc!r}"
            if problem:
                error(
                    f"TWENTY_OAUTH[{name!r}] = {user[name]!r} {problem}",
                    "Give the dotted path of a function, e.g. 'myproject.oauth.skip_consent'.",
                    17,
                )
    for pem in user.get("SIGNING_KEYS") or []:
        from twenty_oauth.protocol.keys import load_pem

        try:
            load_pem(pem)
        except (ValueError, TypeError, AttributeError) as exc:
            error(
                f"TWENTY_OAUTH['SIGNING_KEYS'] holds a key that cannot be used: {exc}",
                "Each entry is an unencrypted PEM private key: P-256 EC (ES256) or RSA of 2048 bits or more.",
                18,
            )
    keks = user.get("KEY_ENCRYPTION_KEYS")
    if keks is not None and not keks:
        error(
            "TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'] is empty: nothing would encrypt the signing keys.",
            "Give at least one key ('manage.py oauth_keys new-kek' prints one), or None to derive "
            "one from SECRET_KEY.",
            25,
        )
    for index, value in enumerate(keks or ()):
        from twenty_oauth.protocol.key_encryption import parse_kek

        try:
            parse_kek(value)
        except ValueError as exc:
            error(
                f"TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][{index}] {exc}.",
                "Each entry is the URL-safe base64 of 32 random bytes: 'manage.py oauth_keys new-kek' "
                "prints one.",
                25,
            )
    if "RATE_LIMIT_CACHE" in user and user["RATE_LIMIT_CACHE"] not in settings.CACHES:
        error(
            f"TWENTY_OAUTH['RATE_LIMIT_CACHE'] names {user['RATE_LIMIT_CACHE']!r}, which is not in CACHES.",
            f"Use one of: {', '.join(settings.CACHES) or 'none defined'}.",
            19,
        )
    if "DPOP_REPLAY_CACHE" in user and user["DPOP_REPLAY_CACHE"] not in settings.CACHES:
        error(
            f"TWENTY_OAUTH['DPOP_REPLAY_CACHE'] names {user['DPOP_REPLAY_CACHE']!r}, which is not in CACHES.",
            f"Use one of: {', '.join(settings.CACHES) or 'none defined'}.",
            27,
        )
    issuer = user.get("ISSUER")
    if issuer:
        parts = uris.split(issuer)
        if (
            parts is None
            or parts.scheme not in ("https", "http")
            or not parts.hostname
            or parts.query
            or parts.fragment
        ):
            error(
                "TWENTY_OAUTH['ISSUER'] must be a URL with a scheme and host and no query or "
                "fragment (RFC 8414 §2).",
                "For example 'https://auth.example.com'.",
                20,
            )
    return errors
