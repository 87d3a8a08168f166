"""The URLconf: the discovery documents routed where clients look for them (E024)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.urls import Resolver404, resolve

from twenty_oauth.checks.settings import check_settings


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
