"""
The server's identity and the documents that publish it: its issuer (RFC 8414 §2), the origin
its endpoints are served from, RFC 8414 server metadata and RFC 9728 protected-resource metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.core.signals import setting_changed
from django.urls import reverse

from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import scopes

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


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
    def of(cls, request_origin: str) -> Site:
        """The site for a request that arrived at ``request_origin`` (``scheme://host``)."""
        configured = oauth_settings.ISSUER
        if not configured:
            return cls(issuer=request_origin, origin=request_origin)
        parts = urlsplit(configured)
        return cls(issuer=configured, origin=f"{parts.scheme}://{parts.netloc}")

    @property
    def default_resource(self) -> str:
        """The audience of a token whose request named no resource (RFC 8707 §2)."""
        return oauth_settings.DEFAULT_RESOURCE or self.issuer

    def endpoint(self, name: str) -> str:
        """The absolute URL of the endpoint named ``name`` in ``twenty_oauth.urls``."""
        return self.origin + reverse(f"twenty_oauth:{name}")

    def resource_metadata_url(self, resource: str) -> str:
        """Where RFC 9728 §3.1 says a client finds the metadata of ``resource``."""
        path = urlsplit(resource).path.strip("/")
        url = self.origin + "/.well-known/oauth-protected-resource"
        return f"{url}/{path}" if path else url


@lru_cache(maxsize=32)
def _authorization_server_document(site: Site, scope_names: tuple[str, ...]) -> dict:
    document = {
        "issuer": site.issuer,
        "authorization_endpoint": site.endpoint("authorize"),
        "token_endpoint": site.endpoint("token"),
        "registration_endpoint": site.endpoint("register"),
        "jwks_uri": site.endpoint("jwks"),
        "revocation_endpoint": site.endpoint("revoke"),
        "introspection_endpoint": site.endpoint("introspect"),
        "userinfo_endpoint": site.endpoint("userinfo"),
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


def authorization_server_document(site: Site) -> dict[str, Any]:
    """RFC 8414 §2 metadata, built once per site and process: shared, not to be modified."""
    return _authorization_server_document(site, tuple(scopes.registry()))


def protected_resource_document(site: Site, path: str) -> dict[str, Any]:
    """RFC 9728 §2 metadata of the resource at ``path`` on this site (the site itself for '')."""
    resource = site.default_resource if not path else site.origin + "/" + path.strip("/")
    return {
        "resource": resource,
        "authorization_servers": [site.issuer],
        "scopes_supported": list(scopes.registry()),
        "bearer_methods_supported": ["header"],
        "jwks_uri": site.endpoint("jwks"),
    }


def clear_cache() -> None:
    _authorization_server_document.cache_clear()


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # The document names the scopes and the endpoints, wherever the URLconf puts them.
    if setting in ("TWENTY_OAUTH", "ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        clear_cache()


setting_changed.connect(_settings_changed)
