"""
The server's identity: its issuer, its resource identifiers, and the metadata documents that
publish them (RFC 8414, RFC 9728).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest

from twenty_oauth import mounting, scopes, uris
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidTarget

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def issuer(request: HttpRequest) -> str:
    """
    ``TWENTY_OAUTH["ISSUER"]`` verbatim, else the request's origin (development only: a deploy
    check warns). The same string goes into the metadata, into ``iss`` of every token and into
    the ``iss`` authorization-response parameter (RFC 9207 §2).
    """
    return oauth_settings.ISSUER or f"{request.scheme}://{request.get_host()}"


def origin(request: HttpRequest) -> str:
    """The scheme and authority every endpoint URL is built on."""
    if oauth_settings.ISSUER:
        parts = urlsplit(oauth_settings.ISSUER)
        return f"{parts.scheme}://{parts.netloc}"
    return f"{request.scheme}://{request.get_host()}"


def default_resource(request: HttpRequest) -> str:
    return oauth_settings.DEFAULT_RESOURCE or issuer(request)


def resources(request: HttpRequest, requested: list[str]) -> list[str]:
    """
    The audience of a token (RFC 8707 §2): the ``resource`` values the client sent, or the
    default resource. Each must be an absolute URI without a fragment, and one this server
    issues tokens for: ``ALLOWED_RESOURCES``, else any URL on the issuer's origin.
    """
    if not requested:
        return [default_resource(request)]
    allowed = oauth_settings.ALLOWED_RESOURCES
    base = origin(request)
    for resource in requested:
        if not uris.is_resource_indicator(resource):
            raise InvalidTarget("resource must be an absolute URI without a fragment (RFC 8707 section 2).")
        if allowed is not None:
            if resource not in allowed and resource != default_resource(request):
                raise InvalidTarget(f"This server does not issue tokens for {resource}.")
        elif not (
            resource == base or resource.startswith(base + "/") or resource == default_resource(request)
        ):
            raise InvalidTarget(f"This server does not issue tokens for {resource}.")
    return list(dict.fromkeys(requested))


def narrow_resources(request: HttpRequest, requested: list[str], granted: list[str]) -> list[str]:
    """
    The audience of a token request on an existing grant (RFC 8707 §2.2): the resources it
    names, all within those of the grant, or the grant's own. A grant that named none allows
    any resource this server serves.
    """
    if not granted:
        return resources(request, requested)
    if not requested:
        return list(granted)
    if any(resource not in granted for resource in requested):
        raise InvalidTarget("resource must be one of those of the original authorization.")
    return list(dict.fromkeys(requested))


def endpoint(request: HttpRequest, name: str) -> str:
    """The URL of an endpoint where the host mounted it (prefix, script name, language)."""
    return origin(request) + mounting.endpoint_path(name)


@lru_cache(maxsize=32)
def _authorization_server_document(
    issuer_value: str, base: str, scope_names: tuple[str, ...], mount: mounting.Mount
) -> dict:
    # ``mount`` is part of the key: the same issuer's endpoints move with the script prefix.
    def url(name: str) -> str:
        return base + mounting.endpoint_path(name)

    document = {
        "issuer": issuer_value,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "registration_endpoint": url("register"),
        "jwks_uri": url("jwks"),
        "revocation_endpoint": url("revoke"),
        "introspection_endpoint": url("introspect"),
        "userinfo_endpoint": url("userinfo"),
        "scopes_supported": list(scope_names),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        # draft-ietf-oauth-client-id-metadata-document; read here, the cache is cleared with settings.
        "client_id_metadata_document_supported": oauth_settings.CLIENT_METADATA_DOCUMENTS,
    }
    return document


def authorization_server_document(request: HttpRequest) -> dict[str, Any]:
    """RFC 8414 §2 metadata, built once per issuer and process: shared, not to be modified."""
    return _authorization_server_document(
        issuer(request), origin(request), tuple(scopes.registry()), mounting.current()
    )


def protected_resource_document(request: HttpRequest, path: str) -> dict[str, Any]:
    """RFC 9728 §2 metadata of the resource at ``path`` on this site (the site itself for '')."""
    resource = default_resource(request) if not path else origin(request) + "/" + path.strip("/")
    return {
        "resource": resource,
        "authorization_servers": [issuer(request)],
        "scopes_supported": list(scopes.registry()),
        "bearer_methods_supported": ["header"],
        "jwks_uri": endpoint(request, "jwks"),
    }


def protected_resource_metadata_url(request: HttpRequest, resource: str) -> str:
    """Where RFC 9728 §3.1 says a client finds the metadata of ``resource``."""
    return origin(request) + mounting.well_known_path(mounting.RESOURCE_METADATA, resource)


def clear_cache() -> None:
    _authorization_server_document.cache_clear()
