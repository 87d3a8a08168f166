"""Reading a Bearer token from a request and describing a refusal (RFC 6750)."""

from __future__ import annotations

from django.http import HttpRequest

from twenty_oauth.views import inputs


def token_from_header(request: HttpRequest) -> str | None:
    """
    The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1), or None when the header is
    absent or another scheme. Tokens in the query or a form body are not accepted (§2.2, §2.3:
    they leak into logs and caches).
    """
    scheme, _, token = inputs.authorization(request).partition(" ")
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
    site = inputs.site(request)
    params = {
        "resource_metadata": site.resource_metadata_url(resource or site.default_resource),
        "error": error,
        "error_description": description,
        "scope": scope,
    }
    rendered = ", ".join(f'{k}="{v}"' for k, v in params.items() if v)
    return f"Bearer {rendered}"
