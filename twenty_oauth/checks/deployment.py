"""``check --deploy``: settings fine in development and unsafe in production (W0xx, I001)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.cache import caches

from twenty_oauth.checks.settings import MAX_ADVISED_REFRESH_DAYS, check_settings


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
