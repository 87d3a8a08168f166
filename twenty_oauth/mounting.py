"""
Where the host mounted twenty-oauth, and where its discovery documents must answer.

The endpoints live wherever the host's URLconf includes ``twenty_oauth.urls``: at the root,
under a prefix, under the script name a proxy passes (``SCRIPT_NAME`` or ``FORCE_SCRIPT_NAME``),
inside ``i18n_patterns``. The URLs the server advertises are reversed, so they follow it there.

The discovery documents do not move with them. RFC 8414 §3.1 and RFC 9728 §3.1 put the metadata
of an identifier at ``/.well-known/<suffix>`` on the host's root followed by the identifier's
path, and MCP clients look nowhere else. Included at the root, ``twenty_oauth.urls`` serves them
itself; included anywhere else, ``twenty_oauth.discovery_urls`` at the root serves them
(:data:`DISCOVERY_INCLUDE`), and the system check ``twenty_oauth.E024`` says so when it is missing.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.signals import setting_changed
from django.urls import Resolver404, get_script_prefix, get_urlconf, resolve, reverse
from django.utils import translation

from twenty_oauth import uris

SERVER_METADATA = "/.well-known/oauth-authorization-server"
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


def current() -> Mount:
    """The mount seen by the request this thread is answering (or by a command, outside one)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return get_script_prefix(), urlconf, advertised_language(urlconf)


def endpoint_path(name: str) -> str:
    """
    The absolute path of the endpoint named ``twenty_oauth:<name>``, as a client must request
    it: the script prefix, the include's prefix and the language prefix all in it.
    """
    return _reverse(name, *current())


@lru_cache(maxsize=256)
def _reverse(name: str, script_prefix: str, urlconf: Any, language: str | None) -> str:
    # reverse() reads the script prefix from the thread; it is an argument for the cache's key.
    with translation.override(language) if language else nullcontext():
        return reverse(f"twenty_oauth:{name}", urlconf=urlconf)


def well_known_path(suffix: str, identifier: str) -> str:
    """
    The path of ``identifier``'s metadata document (RFC 8414 §3.1, RFC 9728 §3.1): the
    well-known suffix inserted between the host and the identifier's path, the slashes around
    that path removed.
    """
    parts = uris.split(identifier)
    path = parts.path.strip("/") if parts is not None else ""
    return f"{suffix}/{path}" if path else suffix


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
    Resources on other hosts publish their own. Without a configured issuer the host is the
    request's, and only the documents of the issuer itself are known.
    """
    found = [(well_known_path(SERVER_METADATA, issuer or ""), "server")]
    if issuer is None:
        named = [] if default_resource else [""]
    else:
        origin = _origin(issuer)
        candidates = [default_resource or issuer, *(allowed_resources or [])]
        named = [resource for resource in candidates if _origin(resource) == origin]
    for resource in named:
        found.append((well_known_path(RESOURCE_METADATA, resource), "resource"))
    return list(dict.fromkeys(found))


def unanswered(documents: list[tuple[str, str]], urlconf: Any = None) -> list[str]:
    """
    Each of ``documents`` that the URLconf does not route to twenty-oauth's discovery view of
    its kind, described for a person: the path and what answers there instead.
    """
    from twenty_oauth.views.metadata import AuthorizationServerMetadataView, ProtectedResourceMetadataView

    views = {"server": AuthorizationServerMetadataView, "resource": ProtectedResourceMetadataView}
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


def clear_cache() -> None:
    _reverse.cache_clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME", "LANGUAGE_CODE", "LANGUAGES", "USE_I18N"):
        clear_cache()


setting_changed.connect(_on_setting_changed)
