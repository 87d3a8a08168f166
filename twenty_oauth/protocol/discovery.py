"""
The server's identity and the documents that publish it: its issuer (RFC 8414 §2), the origin
its endpoints are served from, where those endpoints are mounted, RFC 8414 server metadata and
RFC 9728 protected-resource metadata.

The endpoints live wherever the host's URLconf includes ``twenty_oauth.urls``: at the root,
under a prefix, under the script name a proxy passes (``SCRIPT_NAME`` or ``FORCE_SCRIPT_NAME``),
inside ``i18n_patterns``; the URLs the server advertises are reversed, so they follow it there.
The discovery documents do not move with them: RFC 8414 §3.1 and RFC 9728 §3.1 put the metadata
of an identifier at ``/.well-known/<suffix>`` on the host's root followed by the identifier's
path, and MCP clients look nowhere else. Included at the root, ``twenty_oauth.urls`` serves them
itself; included anywhere else, ``twenty_oauth.discovery_urls`` at the root serves them
(:data:`DISCOVERY_INCLUDE`), and the system check ``twenty_oauth.E024`` says so when it is missing.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.http import RFC3986_SUBDELIMS

from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import scopes, uris

#: RFC 8628 §3.4: the device authorization grant's ``grant_type``.
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
#: Algorithms of private_key_jwt assertions (RFC 7523 §3): asymmetric only, never ``none`` or
#: HMAC, whose "key" would be the public key anyone can read (RFC 8725 §2.1, §3.1). ``Ed25519``
#: and ``Ed448`` are RFC 9864's fully-specified names for ``EdDSA`` on each curve, which
#: WebCrypto and oauth4webapi use.
ASSERTION_SIGNING_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA", "Ed25519", "Ed448")
#: RFC 9449 §5.1: the algorithms of DPoP proofs (``twenty_oauth.protocol.dpop`` checks them).
DPOP_SIGNING_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
SERVER_METADATA = "/.well-known/oauth-authorization-server"
#: OpenID Connect Discovery 1.0 §4: appended to the issuer, path included.
OPENID_CONFIGURATION = "/.well-known/openid-configuration"
#: OpenID Connect Core §3.1.2.1 ``prompt`` values this server understands.
PROMPT_VALUES = ("none", "login", "consent", "select_account")
RESOURCE_METADATA = "/.well-known/oauth-protected-resource"

#: The line a host adds to its root URLconf when ``twenty_oauth.urls`` is not at the root.
DISCOVERY_INCLUDE = 'path("", include("twenty_oauth.discovery_urls"))'

#: What a reversed path depends on besides the patterns: the script prefix, the URLconf and the
#: language whose prefix ``i18n_patterns`` adds.
Mount = tuple[str, Any, str | None]


def advertised_language(urlconf: Any) -> str | None:
    """
    The language whose prefix the advertised URLs carry when ``i18n_patterns`` holds the
    endpoints, or None when no language prefix is in use. It is the language ``LocaleMiddleware``
    gives a request that names none (``LANGUAGE_CODE``), whatever the client's
    ``Accept-Language``: every client reads the same server metadata (RFC 8414 §3.2), and the
    endpoints answer at those URLs in every language the site has.
    """
    used, prefixed_default = is_language_prefix_patterns_used(urlconf)
    if not used:
        return None
    if not prefixed_default:
        return settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def current_mount() -> Mount:
    """The mount seen by the request this thread is answering (or by a command, outside one)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return get_script_prefix(), urlconf, advertised_language(urlconf)


def endpoint_path(name: str, **kwargs: str) -> str:
    """
    The absolute path of the endpoint named ``twenty_oauth:<name>``, as a client must request
    it: the script prefix, the include's prefix and the language prefix all in it. ``kwargs``
    fill the pattern's arguments (a client's own configuration endpoint, RFC 7592 §3).
    """
    path = _reverse(name, *current_mount(), arguments=tuple(sorted(kwargs)))
    for key, value in kwargs.items():
        # Quoted as reverse() quotes what it puts in a path.
        path = path.replace(_ARGUMENT.format(key), quote(value, safe=RFC3986_SUBDELIMS + "/~:@"))
    return path


#: Stands for an argument in a cached path, until the argument's value takes its place: one
#: path per endpoint is reversed, not one per client.
_ARGUMENT = "twenty-oauth-argument-{}"


@lru_cache(maxsize=256)
def _reverse(
    name: str, script_prefix: str, urlconf: Any, language: str | None, arguments: tuple[str, ...] = ()
) -> str:
    # reverse() reads the script prefix from the thread; it is an argument for the cache's key.
    kwargs = {key: _ARGUMENT.format(key) for key in arguments}
    with translation.override(language) if language else nullcontext():
        return reverse(f"twenty_oauth:{name}", urlconf=urlconf, kwargs=kwargs)


def well_known_path(suffix: str, identifier: str) -> str:
    """
    The path of ``identifier``'s metadata document (RFC 8414 §3.1, RFC 9728 §3.1): the
    well-known suffix inserted between the host and the identifier's path, the slashes around
    that path removed.
    """
    parts = uris.split(identifier)
    path = parts.path.strip("/") if parts is not None else ""
    return f"{suffix}/{path}" if path else suffix


def openid_configuration_path(issuer: str) -> str:
    """
    OpenID Connect Discovery §4.1: the issuer's path, then ``/.well-known/openid-configuration``
    (``https://host/tenant`` has its configuration at ``/tenant/.well-known/openid-configuration``).
    """
    parts = uris.split(issuer)
    path = parts.path.rstrip("/") if parts is not None else ""
    return f"{path}{OPENID_CONFIGURATION}"


def _origin(url: str) -> str | None:
    parts = uris.split(url)
    if parts is None or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def discovery_paths(
    issuer: str | None, default_resource: str | None, allowed_resources: list[str] | None
) -> list[tuple[str, str]]:
    """
    ``(path, kind)`` of every discovery document the server advertises or names in a
    ``WWW-Authenticate`` challenge, on the issuer's own host: the server metadata of the issuer
    (RFC 8414 §3.1, kind ``server``) and the protected-resource metadata (RFC 9728 §3.1, kind
    ``resource``) of the default resource and of each allowed resource on the issuer's origin.
    Resources on other hosts publish their own. The OpenID Connect configuration of the issuer
    (Discovery §4, kind ``openid``) is where the issuer's path puts it. Without a configured
    issuer the host is the request's, and only the documents of the issuer itself are known.
    """
    found = [
        (well_known_path(SERVER_METADATA, issuer or ""), "server"),
        (openid_configuration_path(issuer or ""), "openid"),
    ]
    if issuer is None:
        named = [] if default_resource else [""]
    else:
        origin = _origin(issuer)
        candidates = [default_resource or issuer, *(allowed_resources or [])]
        named = [resource for resource in candidates if _origin(resource) == origin]
    for resource in named:
        found.append((well_known_path(RESOURCE_METADATA, resource), "resource"))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Site:
    """
    This server as one request reaches it. ``issuer`` is ``TWENTY_OAUTH["ISSUER"]`` verbatim,
    else the request's origin (development only: a deploy check warns); the same string goes
    into the metadata, into ``iss`` of every token and into the ``iss`` authorization-response
    parameter (RFC 9207 §2). ``origin`` is the scheme and authority every endpoint URL is
    built on. The web layer makes one from a request (``views.inputs.site``).
    """

    issuer: str
    origin: str

    @classmethod
    def configured(cls) -> Site | None:
        """The site ``TWENTY_OAUTH["ISSUER"]`` names, or None when it is unset."""
        issuer = oauth_settings.ISSUER
        return _configured_site(issuer) if issuer else None

    @property
    def default_resource(self) -> str:
        """The audience of a token whose request named no resource (RFC 8707 §2)."""
        return oauth_settings.DEFAULT_RESOURCE or self.issuer

    def endpoint(self, name: str, **kwargs: str) -> str:
        """The URL of the endpoint ``name`` where the host mounted it (prefix, script, language)."""
        return self.origin + endpoint_path(name, **kwargs)

    def resource_metadata_url(self, resource: str) -> str:
        """Where RFC 9728 §3.1 says a client finds the metadata of ``resource``."""
        return self.origin + well_known_path(RESOURCE_METADATA, resource)


@lru_cache(maxsize=8)
def _configured_site(issuer: str) -> Site:
    parts = urlsplit(issuer)
    return Site(issuer=issuer, origin=f"{parts.scheme}://{parts.netloc}")


@lru_cache(maxsize=32)
def _authorization_server_document(site: Site, scope_names: tuple[str, ...], mount: Mount) -> dict:
    # ``mount`` is part of the key: the same issuer's endpoints move with the script prefix.
    document = {
        "issuer": site.issuer,
        "authorization_endpoint": site.endpoint("authorize"),
        "token_endpoint": site.endpoint("token"),
        "registration_endpoint": site.endpoint("register"),
        "jwks_uri": site.endpoint("jwks"),
        "revocation_endpoint": site.endpoint("revoke"),
        "introspection_endpoint": site.endpoint("introspect"),
        "userinfo_endpoint": site.endpoint("userinfo"),
        # RFC 8628 §4.
        "device_authorization_endpoint": site.endpoint("device-authorization"),
        "scopes_supported": list(scope_names),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_SIGNING_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        # RFC 9449 §5.1.
        "dpop_signing_alg_values_supported": list(DPOP_SIGNING_ALGORITHMS),
        # draft-ietf-oauth-client-id-metadata-document; read here, the cache is cleared with settings.
        "client_id_metadata_document_supported": oauth_settings.CLIENT_METADATA_DOCUMENTS,
    }
    return document


def authorization_server_document(site: Site) -> dict[str, Any]:
    """RFC 8414 §2 metadata, built once per site and process: shared, not to be modified."""
    return _authorization_server_document(site, tuple(scopes.registry()), current_mount())


@lru_cache(maxsize=32)
def _openid_configuration(site: Site, scope_names: tuple[str, ...], mount: Mount) -> dict:
    from twenty_oauth.protocol import id_tokens, identity_claims

    return {
        **_authorization_server_document(site, scope_names, mount),
        # OpenID Connect RP-Initiated Logout 1.0 §2.1.
        "end_session_endpoint": site.endpoint("end-session"),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(id_tokens.ALGORITHMS),
        "claims_supported": list(identity_claims.CLAIMS_SUPPORTED),
        "prompt_values_supported": list(PROMPT_VALUES),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def openid_configuration(site: Site) -> dict[str, Any]:
    """
    OpenID Connect Discovery §3 provider metadata: the RFC 8414 document, the same issuer, and
    what OpenID Connect adds. Built once per site and process: shared, not to be modified.
    """
    return _openid_configuration(site, tuple(scopes.registry()), current_mount())


def protected_resource_document(site: Site, path: str) -> dict[str, Any]:
    """RFC 9728 §2 metadata of the resource at ``path`` on this site (the site itself for '')."""
    resource = site.default_resource if not path else site.origin + "/" + path.strip("/")
    document = {
        "resource": resource,
        "authorization_servers": [site.issuer],
        # The resource's own scopes: OpenID Connect's are about signing in, not about the API.
        "scopes_supported": list(oauth_settings.SCOPES),
        "bearer_methods_supported": ["header"],
        "jwks_uri": site.endpoint("jwks"),
        # RFC 9728 §2: the algorithms of the DPoP proofs this resource accepts (RFC 9449 §7).
        "dpop_signing_alg_values_supported": list(DPOP_SIGNING_ALGORITHMS),
    }
    if resource in oauth_settings.DPOP_REQUIRED_RESOURCES:
        document["dpop_bound_access_tokens_required"] = True  # RFC 9728 §2; absent means false
    return document


def clear_cache() -> None:
    _authorization_server_document.cache_clear()
    _openid_configuration.cache_clear()
    _reverse.cache_clear()


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # The document names the scopes and the endpoints, wherever the URLconf puts them.
    if setting in (
        "TWENTY_OAUTH",
        "ROOT_URLCONF",
        "FORCE_SCRIPT_NAME",
        "LANGUAGE_CODE",
        "LANGUAGES",
        "USE_I18N",
    ):
        clear_cache()


setting_changed.connect(_settings_changed)
