"""Reading URIs that arrive from outside: parameters, registrations, metadata documents."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def split(uri: str) -> SplitResult | None:
    """
    The RFC 3986 §3 components of ``uri``, or None where it cannot be parsed: ``urlsplit``
    raises ValueError on a malformed IPv6 host (``https://[::1``) and ``.port`` on a malformed
    port, and either would otherwise surface as a 500.
    """
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    return parts
