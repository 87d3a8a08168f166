"""Resource indicators (RFC 8707): the audience a token is issued for."""

from __future__ import annotations

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidTarget
from twenty_oauth.protocol import uris
from twenty_oauth.protocol.discovery import Site


def requested(site: Site, resources: list[str]) -> list[str]:
    """
    The audience of a token (RFC 8707 §2): the ``resource`` values the client sent, or the
    default resource. Each must be an absolute URI without a fragment, and one this server
    issues tokens for: ``ALLOWED_RESOURCES``, else any URL on the issuer's origin.
    """
    if not resources:
        return [site.default_resource]
    allowed = oauth_settings.ALLOWED_RESOURCES
    default = site.default_resource
    for resource in resources:
        if not uris.is_resource_indicator(resource):
            raise InvalidTarget("resource must be an absolute URI without a fragment (RFC 8707 section 2).")
        if allowed is not None:
            if resource not in allowed and resource != default:
                raise InvalidTarget(f"This server does not issue tokens for {resource}.")
        elif not (resource == site.origin or resource.startswith(site.origin + "/") or resource == default):
            raise InvalidTarget(f"This server does not issue tokens for {resource}.")
    return list(dict.fromkeys(resources))


def narrowed(site: Site, resources: list[str], granted: list[str]) -> list[str]:
    """
    The audience of a token request on an existing grant (RFC 8707 §2.2): the resources it
    names, all within those of the grant, or the grant's own. A grant that named none allows
    any resource this server serves.
    """
    if not granted:
        return requested(site, resources)
    if not resources:
        return list(granted)
    if any(resource not in granted for resource in resources):
        raise InvalidTarget("resource must be one of those of the original authorization.")
    return list(dict.fromkeys(resources))
