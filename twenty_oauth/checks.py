"""
System checks for ``TWENTY_OAUTH`` and for the URLconf that mounts the app.

``manage.py check`` reports errors (``twenty_oauth.E0xx``) for a block that cannot work: an
unknown key, a value of the wrong type, values that contradict each other; and for a URLconf that
does not serve the discovery documents where clients look for them (``twenty_oauth.E024``). ``check --deploy``
adds warnings (``twenty_oauth.W0xx``) for settings that are fine in development and unsafe in
production, and one recommendation (``twenty_oauth.I001``). ``migrate`` and
``check --database default`` also read the signing keys in the database: an error when one cannot
be decrypted (``twenty_oauth.E026``), warnings when none signs or one is stored unencrypted
(``twenty_oauth.W011``, ``W012``), and one when clients want ID tokens signed with an algorithm no
key has (``W015``). Every message's hint says how to fix it; a warning you have
weighed can be silenced with ``SILENCED_SYSTEM_CHECKS``.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.cache import caches
from django.db import connections, router
from django.urls import Resolver404, resolve
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


@checks.register(checks.Tags.security, deploy=True)
def check_deployment(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warnings for settings that are fine in development and unsafe in production."""
    from twenty_oauth.conf import oauth_settings

    if check_settings():
        return []  # the errors say what to fix first; these values cannot be trusted yet
    messages: list[checks.CheckMessage] = []

    def warn(message: str, hint: str, number: int) -> None:
        messages.append(checks.Warning(message, hint=hint, id=f"twenty_oauth.W{number:03d}"))

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
            "Serve the authorization server over TLS and set the https URL (RFC 8414 §2, RFC 9700 §2.6).",
            2,
        )
    if not oauth_settings.SIGNING_KEYS:
        warn(
            "Access-token signing keys are not pinned in TWENTY_OAUTH['SIGNING_KEYS'].",
            "Keys live in the database, encrypted, and 'migrate' creates the first one. Pin them in "
            "settings, or manage them with 'manage.py oauth_keys' and keep the database backed up.",
            3,
        )
        if not oauth_settings.KEY_ENCRYPTION_KEYS:
            warn(
                "The signing keys in the database are encrypted with a key derived from SECRET_KEY: "
                "whoever has the database and SECRET_KEY can sign access tokens, and a new SECRET_KEY "
                "without the old one in SECRET_KEY_FALLBACKS leaves the keys unreadable.",
                "Set TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'] to a key kept apart from SECRET_KEY "
                "('manage.py oauth_keys new-kek' prints one), then run 'manage.py oauth_keys reencrypt'.",
                10,
            )
    if (
        oauth_settings.REGISTRATION_RATE_LIMIT
        or oauth_settings.CLIENT_AUTH_FAILURE_LIMIT
        or oauth_settings.USER_CODE_FAILURE_LIMIT
        or (
            oauth_settings.CLIENT_METADATA_DOCUMENTS
            and (oauth_settings.CLIENT_METADATA_FETCH_LIMIT or oauth_settings.CLIENT_METADATA_ADDRESS_LIMIT)
        )
    ):
        backend = caches[oauth_settings.RATE_LIMIT_CACHE]
        if type(backend).__module__.startswith(
            ("django.core.cache.backends.locmem", "django.core.cache.backends.dummy")
        ):
            warn(
                "Rate limits use a process-local cache: each worker counts on its own, so the real "
                "limit is the configured one times the number of workers (the cap on metadata "
                "documents fetched at once too, and each paces the device grant's polling on its own).",
                "Point TWENTY_OAUTH['RATE_LIMIT_CACHE'] at a Redis, Memcached or database cache shared "
                "by all workers.",
                4,
            )
    if oauth_settings.ACCESS_TOKEN_LIFETIME > 3600:
        warn(
            f"TWENTY_OAUTH['ACCESS_TOKEN_LIFETIME'] is {oauth_settings.ACCESS_TOKEN_LIFETIME} seconds, "
            "above one hour.",
            "Short-lived access tokens limit the damage of a leaked one (RFC 9700 §4.14); clients "
            "refresh. Use 3600 or less.",
            5,
        )
    if oauth_settings.AUTHORIZATION_CODE_LIFETIME > 60:
        warn(
            f"TWENTY_OAUTH['AUTHORIZATION_CODE_LIFETIME'] is {oauth_settings.AUTHORIZATION_CODE_LIFETIME} "
            "seconds, above 60.",
            "Codes are redeemed within seconds; a short lifetime narrows the window for a stolen code "
            "(RFC 9700 §4.2). Use 60 or less.",
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
    if oauth_settings.REFRESH_TOKEN_LIFETIME > MAX_ADVISED_REFRESH_DAYS * 86400:
        warn(
            f"TWENTY_OAUTH['REFRESH_TOKEN_LIFETIME'] is {oauth_settings.REFRESH_TOKEN_LIFETIME // 86400} "
            f"days, above {MAX_ADVISED_REFRESH_DAYS}.",
            "Each refresh issues a new refresh token with this lifetime, so it is how long a client may "
            "stay idle and keep access; RFC 9700 §4.14.2 asks that idle grants end. The default is 30 days.",
            9,
        )
    if type(caches["default"]).__module__.startswith(
        ("django.core.cache.backends.locmem", "django.core.cache.backends.dummy")
    ):
        warn(
            "The default cache is process-local: the jti of each private_key_jwt client assertion (and "
            "of each DPoP proof, unless DPOP_REPLAY_CACHE names another cache) is remembered by one "
            "worker only, so an assertion or a proof can be replayed at each of the others.",
            "Point the 'default' entry of CACHES at a Redis, Memcached or database cache shared by all "
            "workers (RFC 7523 §3: a jti is used once).",
            13,
        )
    replay_cache = oauth_settings.DPOP_REPLAY_CACHE
    # With the default cache, W013 says it for both.
    if (
        replay_cache != "default"
        and replay_cache in settings.CACHES
        and type(caches[replay_cache]).__module__.startswith(
            ("django.core.cache.backends.locmem", "django.core.cache.backends.dummy")
        )
    ):
        warn(
            "DPoP proofs' jti are remembered in a process-local cache (the dummy cache remembers "
            "none): a proof accepted by one worker can be replayed at each of the others.",
            "Point TWENTY_OAUTH['DPOP_REPLAY_CACHE'] at a Redis, Memcached or database cache shared by "
            "all workers (RFC 9449 §11.1: a jti is used once).",
            14,
        )
    if oauth_settings.PKCE_REQUIRED == "public":
        messages.append(
            checks.Info(
                "Confidential clients may use the authorization code flow without PKCE "
                "(TWENTY_OAUTH['PKCE_REQUIRED'] is 'public').",
                hint="RFC 9700 §2.1.1 recommends PKCE for confidential clients too, and OAuth 2.1 requires "
                "it. Set 'all' once your confidential clients send code_challenge, or silence "
                "twenty_oauth.I001.",
                id="twenty_oauth.I001",
            )
        )
    return messages


@checks.register(checks.Tags.database)
def check_signing_keys(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """
    The signing keys in the database, when ``SIGNING_KEYS`` does not pin them. Like every
    database check it runs with ``migrate`` and ``check --database ALIAS``, and only once the
    table exists: an error for each published key that no key-encryption key decrypts (it
    neither signs nor verifies), a warning when no key signs (the token endpoint answers 503
    ``temporarily_unavailable``) and one for keys stored unencrypted.
    """
    from twenty_oauth.conf import oauth_settings
    from twenty_oauth.models import SigningKey
    from twenty_oauth.protocol import key_encryption, keys

    if app_configs is not None and SigningKey._meta.app_config not in app_configs:
        return []
    if not databases or oauth_settings.SIGNING_KEYS or check_settings():
        return []  # no database to read, keys that are not in it, or settings to fix first
    alias = router.db_for_read(SigningKey)
    if alias not in databases:
        return []
    if SigningKey._meta.db_table not in connections[alias].introspection.table_names():
        return []  # not migrated yet: migrate creates the first key
    messages: list[checks.CheckMessage] = []
    rows = list(SigningKey.objects.using(alias).order_by("created_at"))
    for row in rows:
        if row.retired_at is not None:
            continue
        try:
            key_encryption.decrypt(row.private_key, row.kid)
        except key_encryption.KeyEncryptionError as exc:
            messages.append(
                checks.Error(
                    f"{exc} It neither signs nor verifies.",
                    hint="Put the key-encryption key it was encrypted with back in "
                    "TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'], after the current one (or the old SECRET_KEY "
                    "in SECRET_KEY_FALLBACKS), then run 'manage.py oauth_keys reencrypt'.",
                    id="twenty_oauth.E026",
                )
            )
    if keys.signing_row(SigningKey, alias) is None:
        messages.append(
            checks.Warning(
                "No key in the database signs access tokens: the token endpoint answers 503 "
                "temporarily_unavailable.",
                hint="Run 'manage.py oauth_keys rotate' to create one ('migrate' creates one when none "
                "signs).",
                id="twenty_oauth.W011",
            )
        )
    messages.extend(_id_token_algorithms_without_keys(rows, alias))
    plain = [row.kid for row in rows if not key_encryption.is_encrypted(row.private_key)]
    if plain:
        messages.append(
            checks.Warning(
                f"Signing keys stored unencrypted: {', '.join(plain)}.",
                hint="Run 'manage.py oauth_keys reencrypt' to encrypt them.",
                id="twenty_oauth.W012",
            )
        )
    return messages


def _id_token_algorithms_without_keys(rows: list, alias: str) -> list[checks.CheckMessage]:
    """
    A warning when an active client registered an ``id_token_signed_response_alg`` that no
    unretired key signs with: its OpenID code exchanges answer 503 (OpenID Connect Core §3.1.3.7).
    """
    from twenty_oauth.models import Client

    held = {row.algorithm for row in rows if row.retired_at is None}
    wanted = set(
        Client.objects.using(alias)
        .filter(is_active=True)
        .exclude(id_token_signed_response_alg="")
        .values_list("id_token_signed_response_alg", flat=True)
        .distinct()
    )
    return [
        checks.Warning(
            f"Clients registered id_token_signed_response_alg {algorithm} and no key signs with it: "
            "their OpenID Connect code exchanges answer 503 temporarily_unavailable.",
            hint=f"Run 'manage.py oauth_keys create --algorithm {algorithm}' to publish one.",
            id="twenty_oauth.W015",
        )
        for algorithm in sorted(wanted - held)
    ]


@checks.register(checks.Tags.urls)
def check_discovery_urls(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """
    An error when a discovery document the server advertises, or names in a ``WWW-Authenticate``
    challenge (RFC 9728 §5.1), is not routed to twenty-oauth where clients look for it: the
    issuer's server metadata (RFC 8414 §3.1) and the protected-resource metadata of the default
    resource and of each allowed resource on the issuer's origin (RFC 9728 §3.1), all on the
    host's root. It fires when ``twenty_oauth.urls`` is included under a prefix or inside
    ``i18n_patterns`` and ``twenty_oauth.discovery_urls`` is not included at the root.
    """
    from twenty_oauth.conf import oauth_settings
    from twenty_oauth.protocol import discovery

    if check_settings():
        return []  # an issuer or resource that cannot be parsed has its own error
    documents = discovery.discovery_paths(
        oauth_settings.ISSUER, oauth_settings.DEFAULT_RESOURCE, oauth_settings.ALLOWED_RESOURCES
    )
    try:
        problems = _unanswered(documents, settings.ROOT_URLCONF)
    except Exception:  # noqa: BLE001 - a URLconf that cannot load: Django's own checks report it
        return []
    if not problems:
        return []
    return [
        checks.Error(
            "Clients look for this server's discovery documents where RFC 8414 §3.1, RFC 9728 §3.1 "
            f"and OpenID Connect Discovery §4 put them, and {settings.ROOT_URLCONF} does not route them to "
            f"twenty-oauth: {'; '.join(problems)}. Add this line to its urlpatterns: "
            f"{discovery.DISCOVERY_INCLUDE}",
            hint="Put it in the top-level list, outside any prefix and outside i18n_patterns(). Behind a "
            "proxy that serves the site under a path, also have the proxy forward the host's /.well-known/ "
            "paths to the site unchanged.",
            id="twenty_oauth.E024",
        )
    ]


def _unanswered(documents: list[tuple[str, str]], urlconf: Any = None) -> list[str]:
    """
    Each of ``documents`` that the URLconf does not route to twenty-oauth's discovery view of
    its kind, described for a person: the path and what answers there instead.
    """
    from twenty_oauth.views.metadata import (
        AuthorizationServerMetadataView,
        OpenIDConfigurationView,
        ProtectedResourceMetadataView,
    )

    views = {
        "server": AuthorizationServerMetadataView,
        "resource": ProtectedResourceMetadataView,
        "openid": OpenIDConfigurationView,
    }
    problems = []
    for path, kind in documents:
        try:
            match = resolve(path, urlconf)
        except Resolver404:
            problems.append(f"{path} (not found)")
            continue
        view = getattr(match.func, "view_class", match.func)
        if not (isinstance(view, type) and issubclass(view, views[kind])):
            problems.append(f"{path} (answered by {view.__module__}.{view.__qualname__})")
    return problems
