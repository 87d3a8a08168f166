"""
Settings for twenty-oauth, read from the ``TWENTY_OAUTH`` dictionary of the host's settings.

Every key is optional::

    TWENTY_OAUTH = {
        "ISSUER": "https://auth.example.com",
        "SCOPES": {"api": "Read and write your data", "profile": "See your profile"},
    }

Code reads them through ``oauth_settings``, the way Django REST framework exposes
``api_settings``: ``oauth_settings.ACCESS_TOKEN_LIFETIME``. The object reloads when a test
changes ``TWENTY_OAUTH`` with ``override_settings``. ``checks.py`` reports an unknown key or a
value of the wrong type as a system-check error.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

#: Each setting: (default, accepted types, what it does). The README's table is built from this.
SETTINGS: dict[str, tuple[Any, tuple[type, ...], str]] = {
    "ISSUER": (
        None,
        (str, type(None)),
        "The issuer identifier (RFC 8414 §2): an https URL with no query or fragment. Unset, "
        "the request's origin is used, which is only safe in development.",
    ),
    "SCOPES": (
        {
            "api": "Read and write your data through the API",
            "profile": "See your name, username and email address",
        },
        (dict,),
        "The scopes this server knows, each with the description shown on the consent page.",
    ),
    "DEFAULT_SCOPES": (
        ["api"],
        (list, tuple),
        "Scopes granted when an authorization request names none.",
    ),
    "ACCESS_TOKEN_LIFETIME": (3600, (int,), "Seconds an access token is valid."),
    "REFRESH_TOKEN_LIFETIME": (
        30 * 24 * 3600,
        (int,),
        "Seconds a refresh token is valid; each refresh issues a new one.",
    ),
    "AUTHORIZATION_CODE_LIFETIME": (
        60,
        (int,),
        "Seconds an authorization code is valid (at most 600, RFC 6749 §4.1.2).",
    ),
    "DEVICE_CODE_LIFETIME": (
        600,
        (int,),
        "Seconds a device code and its user code are valid (RFC 8628 §3.2 expires_in).",
    ),
    "DEVICE_CODE_INTERVAL": (
        5,
        (int,),
        "Seconds a device waits between polls of the token endpoint (RFC 8628 §3.2 interval); "
        "a poll sooner is slow_down and adds 5 seconds for that device code.",
    ),
    "USER_CODE_FAILURE_LIMIT": (
        "20/h",
        (str, type(None)),
        "Wrong user codes entered on /oauth/device per user, and per client IP, before the page "
        "refuses more (RFC 8628 §5.1), as 'count/period'; None disables.",
    ),
    "CLIENT_SECRET_LIFETIME": (
        0,
        (int,),
        "Seconds a dynamically registered client's secret is valid; 0 means it does not expire.",
    ),
    "PKCE_REQUIRED": (
        "public",
        (str,),
        "Which clients must use PKCE: 'public' (RFC 9700 §2.1.1) or 'all'.",
    ),
    "DEFAULT_RESOURCE": (
        None,
        (str, type(None)),
        "The audience of a token whose request named no resource (RFC 8707). Unset: the issuer.",
    ),
    "ALLOWED_RESOURCES": (
        None,
        (list, tuple, type(None)),
        "Resource indicators a client may ask for. Unset: any URL on the issuer's origin.",
    ),
    "SIGNING_ALGORITHM": (
        "ES256",
        (str,),
        "Algorithm of new signing keys: 'ES256' or 'RS256'.",
    ),
    "SIGNING_KEYS": (
        None,
        (list, tuple, type(None)),
        "PEM private keys pinned in settings, the first one signs. Unset: keys are kept in the "
        "database and managed with 'manage.py oauth_keys'.",
    ),
    "KEY_ENCRYPTION_KEYS": (
        None,
        (list, tuple, type(None)),
        "Keys that encrypt the database's signing keys, each the URL-safe base64 of 32 random "
        "bytes ('manage.py oauth_keys new-kek' prints one): the first encrypts, all decrypt. "
        "Unset: a key derived from SECRET_KEY (and SECRET_KEY_FALLBACKS to decrypt).",
    ),
    "KEY_CACHE_SECONDS": (
        60,
        (int,),
        "How long a process keeps the database's signing keys before it reads them again.",
    ),
    "REGISTRATION_ENABLED": (True, (bool,), "Whether /oauth/register accepts registrations."),
    "REGISTRATION_INITIAL_ACCESS_TOKEN": (
        None,
        (str, type(None)),
        "When set, /oauth/register requires it as a Bearer token (RFC 7591 §3).",
    ),
    "REGISTRATION_RATE_LIMIT": (
        "300/h",
        (str, type(None)),
        "Registrations allowed per client IP, as 'count/period' (s, m, h, d); None disables. "
        "Requests to client configuration endpoints (RFC 7592) are counted apart, at the same rate.",
    ),
    "CLIENT_AUTH_FAILURE_LIMIT": (
        "20/m",
        (str, type(None)),
        "Failed client authentications per client_id and client IP before 429; None disables.",
    ),
    "CLIENT_ASSERTION_MAX_LIFETIME": (
        300,
        (int,),
        "Longest a private_key_jwt client assertion may still be valid when it arrives: its exp at "
        "most this many seconds ahead (RFC 7523 §3).",
    ),
    "CLIENT_ASSERTION_CLOCK_SKEW": (
        30,
        (int,),
        "Seconds of clock difference allowed when a client assertion's exp, nbf and iat are checked.",
    ),
    "RATE_LIMIT_CACHE": ("default", (str,), "The Django cache alias that holds rate-limit counters."),
    "ALLOW_CLIENT_CREDENTIALS_FOR_REGISTERED_CLIENTS": (
        False,
        (bool,),
        "Let dynamically registered clients use client_credentials without an admin allowing it.",
    ),
    "MAX_REDIRECT_URIS": (20, (int,), "Most redirect URIs a client may register."),
    "SKIP_CONSENT": (
        None,
        (str, type(None)),
        "Dotted path to callable(request, client, scopes) -> bool; True skips the consent page.",
    ),
    "ACCESS_TOKEN_CLAIMS": (
        None,
        (str, type(None)),
        "Dotted path to callable(claims, client, user) -> dict adding claims to access tokens.",
    ),
    "OPENID_CLAIMS": (
        None,
        (str, type(None)),
        "Dotted path to callable(claims, client, user, scopes) -> dict adding claims to ID tokens "
        "and to OpenID UserInfo answers (OpenID Connect Core §5).",
    ),
    "EMAIL_VERIFIED": (
        None,
        (str, type(None)),
        "Dotted path to callable(user) -> bool, the email_verified claim; unset: not stated.",
    ),
    "ID_TOKEN_LIFETIME": (3600, (int,), "Seconds an ID token is valid (OpenID Connect Core §2 exp)."),
    "USERINFO_CLAIMS": (
        None,
        (str, type(None)),
        "Dotted path to callable(user, claims) -> dict returning the userinfo response.",
    ),
    "CLIENT_CREDENTIALS_PRINCIPAL": (
        None,
        (str, type(None)),
        "Dotted path to callable(client, token) -> object used as request.user for a "
        "client-credentials token. Unset: a ClientPrincipal.",
    ),
    "CLIENT_METADATA_DOCUMENTS": (
        True,
        (bool,),
        "Accept a client_id that is the https URL of a client ID metadata document "
        "(draft-ietf-oauth-client-id-metadata-document), as MCP clients send.",
    ),
    "CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES": (
        False,
        (bool,),
        "Let metadata documents be fetched from private, loopback, link-local and other "
        "special-use addresses. For tests only: it opens the server to SSRF.",
    ),
    "CLIENT_METADATA_TIMEOUT": (5, (int,), "Seconds allowed for fetching a metadata document."),
    "CLIENT_METADATA_FETCH_LIMIT": (
        "30/m",
        (str, type(None)),
        "Fetches of metadata documents allowed per host, as 'count/period' (cached documents do "
        "not count); None disables.",
    ),
    "CLIENT_METADATA_MAX_CACHE_SECONDS": (
        86400,
        (int,),
        "Longest a metadata document is kept, whatever its Cache-Control allows.",
    ),
    "CLIENT_METADATA_ADDRESS_LIMIT": (
        "10/m",
        (str, type(None)),
        "Requests per client IP that would fetch a metadata document (none is cached for their "
        "client_id), as 'count/period', counted before the fetch; past it 429. None disables.",
    ),
    "CLIENT_METADATA_MAX_CONCURRENT_FETCHES": (
        2,
        (int,),
        "Metadata documents fetched at once, at most: in each process, and across processes when "
        "RATE_LIMIT_CACHE is shared (Redis, Memcached). Past it a request that would fetch is "
        "refused at once with 503.",
    ),
    "CLIENT_METADATA_FAILURE_CACHE_SECONDS": (
        60,
        (int,),
        "How long a metadata document that could not be fetched or used is not fetched again "
        "(its error is answered instead); 0 disables.",
    ),
    "CLIENT_METADATA_FAILURE_CACHE_SIZE": (
        1000,
        (int,),
        "Most failed metadata-document URLs each process remembers; the oldest are forgotten first.",
    ),
    "DPOP_PROOF_MAX_AGE": (
        60,
        (int,),
        "Seconds after its iat a DPoP proof is accepted (RFC 9449 §11.1); one may be up to 5 "
        "seconds ahead of the server's clock. Each proof's jti is accepted once in that window.",
    ),
    "DPOP_REPLAY_CACHE": (
        "default",
        (str,),
        "The Django cache alias that records the DPoP proofs' jti already used; Redis or "
        "Memcached so that every process sees them.",
    ),
    "DPOP_REQUIRED_FOR_PUBLIC_CLIENTS": (
        False,
        (bool,),
        "Refuse a public client's token request without a DPoP proof (RFC 9449 §5), as if every "
        "public client had registered dpop_bound_access_tokens.",
    ),
    "DPOP_REQUIRED_RESOURCES": (
        (),
        (list, tuple),
        "Resource identifiers (RFC 8707) that accept DPoP-bound tokens only: a Bearer token is "
        "refused there, and their metadata says dpop_bound_access_tokens_required (RFC 9728 §2).",
    ),
    "DPOP_NONCES": (
        False,
        (bool,),
        "Require a server nonce in DPoP proofs at the token endpoint (RFC 9449 §8), given in "
        "DPoP-Nonce. Derived from SECRET_KEY and the time: nothing is stored.",
    ),
    "DPOP_NONCE_SECONDS": (
        120,
        (int,),
        "How long each DPoP nonce is the current one; the one before it is still accepted.",
    ),
}

HOOKS = (
    "SKIP_CONSENT",
    "ACCESS_TOKEN_CLAIMS",
    "OPENID_CLAIMS",
    "EMAIL_VERIFIED",
    "USERINFO_CLAIMS",
    "CLIENT_CREDENTIALS_PRINCIPAL",
)


class OAuthSettings:
    """
    Attribute access to ``TWENTY_OAUTH`` with defaults; hooks are imported on first use.

    A setting, once read, is kept as an attribute of the instance, as DRF's ``api_settings``
    keeps them: later reads are plain attribute lookups, without a call to ``__getattr__``
    (a dozen reads a token request). ``reload`` forgets them all.
    """

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "TWENTY_OAUTH", None) or {}
        return value if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name not in SETTINGS:
            raise AttributeError(f"Invalid twenty-oauth setting: {name!r}")
        value = self.user_settings.get(name, SETTINGS[name][0])
        if name in HOOKS and isinstance(value, str):
            value = import_string(value)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in SETTINGS:
            self.__dict__.pop(name, None)


oauth_settings = OAuthSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    # The modules that keep what they derived from these settings listen for changes themselves.
    if setting == "TWENTY_OAUTH":
        oauth_settings.reload()


setting_changed.connect(_reload)
