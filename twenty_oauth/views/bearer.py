"""Reading a Bearer or DPoP token from a request and describing a refusal (RFC 6750, RFC 9449 §7)."""

from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidDPoPProof, UseDPoPNonce
from twenty_oauth.protocol import dpop, verification
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


def presented(request: HttpRequest) -> tuple[str, str] | None:
    """
    ``("bearer", token)`` or ``("dpop", token)`` from the ``Authorization`` header (RFC 6750
    §2.1, RFC 9449 §7.1), the scheme in lower case; None when there is neither.
    """
    scheme, _, token = inputs.authorization(request).partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop"):
        return None
    return scheme, token.strip()


def dpop_proof(request: HttpRequest) -> str:
    """The ``DPoP`` header (RFC 9449 §4.1), or '' when there is none."""
    return request.META.get("HTTP_DPOP", "")


def resource_url(request: HttpRequest) -> str:
    """
    The URL ``request`` was sent to, as a DPoP proof's ``htu`` names it (RFC 9449 §4.3 point 9):
    the site's origin (the issuer's, when it is set, never a header a client or proxy could
    forge) and the path, query aside.
    """
    return inputs.site(request).origin + request.path


class Refused(Exception):
    """A presented token was refused: the ``error`` goes on the challenge of ``scheme`` (RFC 9449 §7.1)."""

    def __init__(self, scheme: str, error: str, description: str) -> None:
        super().__init__(description)
        self.scheme, self.error, self.description = scheme, error, description


@sensitive_variables()
def verify(
    request: HttpRequest, *, audience: str | None, url: str | None = None
) -> verification.VerifiedToken | None:
    """
    The token of ``request``, verified (``verification.verify_access_token``) for ``audience``, or None
    when the request has none. A token bound to a DPoP key (``cnf.jkt``) is accepted only with
    the DPoP scheme and a proof of that key for this request at ``url`` (by default
    :func:`resource_url`): its method, URL, the token's hash and a fresh ``jti`` (RFC 9449 §4.3,
    §7); as a Bearer token it is refused (§7.2). At an ``audience`` of ``DPOP_REQUIRED_RESOURCES``
    every Bearer token is refused. Raises :class:`Refused`.
    """
    found = presented(request)
    if found is None:
        return None
    scheme, value = found
    if not value:
        raise Refused(scheme, "invalid_token", "The access token is empty.")
    try:
        issuer = inputs.site(request).issuer
        verified = verification.verify_access_token(value, issuer=issuer, audience=audience)
    except verification.TokenRejected as exc:
        raise Refused(scheme, "invalid_token", "The access token is invalid.") from exc
    if scheme == "bearer":
        if verified.jkt is not None:
            # A bound token sent as a Bearer token is a stolen one until a proof says otherwise.
            raise Refused(scheme, "invalid_token", "A DPoP-bound token needs the DPoP scheme and a proof.")
        if audience is not None and audience in oauth_settings.DPOP_REQUIRED_RESOURCES:
            raise Refused(scheme, "invalid_token", "This resource accepts DPoP-bound tokens only.")
        return verified
    if verified.jkt is None:
        raise Refused(scheme, "invalid_token", "The access token is not DPoP-bound.")
    try:
        dpop.check(
            dpop_proof(request),
            method=request.method,
            url=url or resource_url(request),
            access_token=value,
            bound_jkt=verified.jkt,
        )
    except (InvalidDPoPProof, UseDPoPNonce) as exc:
        raise Refused(scheme, exc.error, exc.description) from exc
    return verified


def challenges(request: HttpRequest, *, resource: str | None = None, refused: Refused | None = None) -> str:
    """
    ``WWW-Authenticate`` for a 401: the Bearer challenge (RFC 6750 §3, RFC 9728 §5.1) and the
    DPoP one (RFC 9449 §7.1), the error on the challenge of the scheme the token came with.
    """
    scheme, error = (refused.scheme, refused.error) if refused is not None else ("", None)
    return ", ".join(
        (
            challenge(request, resource=resource, error=error if scheme == "bearer" else None),
            dpop.challenge(error if scheme == "dpop" else None),
        )
    )


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
