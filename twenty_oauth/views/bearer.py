"""Reading a Bearer token from a request and describing a refusal (RFC 6750)."""

from __future__ import annotations

from django.http import HttpRequest

from twenty_oauth.protocol import discovery


def token_from_header(request: HttpRequest) -> str | None:
    """
    The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1), or None when the header is
    absent or another scheme. Tokens in the query or a form body are not accepted (§2.2, §2.3:
    they leak into logs and caches).
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or ""


def challenge(
    request: HttpRequest,
    *,
    resource: str | None = None,
    error: str | None = None,
    scope: str | None = None,
    description: str | None = None,
) -> str:
    """A ``WWW-Authenticate: Bearer`` value (RFC 6750 §3) naming the resource's metadata (RFC 9728 §5.1)."""
    params = {
        "resource_metadata": discovery.protected_resource_metadata_url(
            request, resource or discovery.default_resource(request)
        ),
        "error": error,
        "error_description": description,
        "scope": scope,
    }
    rendered = ", ".join(f'{k}="{v}"' for k, v in params.items() if v)
    return f"Bearer {rendered}"
