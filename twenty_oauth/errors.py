"""
OAuth errors as exceptions. Each class carries its RFC error code and HTTP status; a view turns
one into the RFC's JSON body (RFC 6749 §5.2), or into a redirect only once the redirect URI has
been validated (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import re

#: What RFC 6749 §5.2 and §4.1.2.1 forbid in ``error_description``: anything outside
#: %x20-21 / %x23-5B / %x5D-7E, that is non-ASCII, control characters, the double quote and
#: the backslash.
_OUTSIDE_DESCRIPTION_CHARSET = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def description_text(text: str) -> str:
    """``text`` as an ``error_description`` may carry it: each forbidden character becomes '?'."""
    return _OUTSIDE_DESCRIPTION_CHARSET.sub("?", text)


class OAuthError(Exception):
    """Base of every error twenty-oauth answers with. ``description`` is shown to the client."""

    error = "server_error"
    status_code = 400

    def __init__(self, description: str = "", *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description or self.error)
        self.description = description
        self.headers = headers or {}

    def as_dict(self) -> dict[str, str]:
        """The error's parameters; a description that echoes client input is made safe to send."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = description_text(self.description)
        return body


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2: a parameter is missing, repeated, malformed or not allowed."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed. Answered with 401 and WWW-Authenticate."""

    error = "invalid_client"
    status_code = 401

    def __init__(self, description: str = "Client authentication failed.", **kwargs) -> None:
        super().__init__(description, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Basic realm="oauth"')


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or not this client's."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: this client may not use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2."""

    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1."""

    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2 and §4.1.2.1: a scope is unknown or not allowed for this client."""

    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the resource indicator is not one this server issues tokens for."""

    error = "invalid_target"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: the user denied the request."""

    error = "access_denied"
    status_code = 403


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the person has not decided yet; the device polls again after its interval."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: still pending, and the device polled too soon: its interval grows by 5 seconds."""

    error = "slow_down"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code expired before it was redeemed; the device starts again."""

    error = "expired_token"


class DeviceAccessDenied(OAuthError):
    """RFC 8628 §3.5: the person denied the device's request. A token error: 400, not 403."""

    error = "access_denied"


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5 and §7.1: the DPoP proof is missing where required, malformed or fails a check."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """
    RFC 9449 §8: the proof must carry the server's nonce, which ``DPoP-Nonce`` gives; the client
    sends the request again with a proof that holds it.
    """

    error = "use_dpop_nonce"

    def __init__(self, nonce: str, description: str = "The proof must carry the server's nonce.") -> None:
        super().__init__(description, headers={"DPoP-Nonce": nonce})
        self.nonce = nonce


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a metadata field is invalid."""

    error = "invalid_client_metadata"


class InvalidRedirectURI(OAuthError):
    """RFC 7591 §3.2.2: a redirect URI is invalid."""

    error = "invalid_redirect_uri"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1."""

    error = "unsupported_token_type"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is missing, expired, revoked or malformed."""

    error = "invalid_token"
    status_code = 401


class ResourceInvalidDPoPProof(InvalidToken):
    """RFC 9449 §7.1: at a resource, a DPoP proof that fails a check is 401 ``invalid_dpop_proof``."""

    error = "invalid_dpop_proof"


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the access token lacks a scope the resource needs."""

    error = "insufficient_scope"
    status_code = 403


class TooManyRequests(OAuthError):
    """RFC 6585 §4: a rate limit was hit. ``Retry-After`` says when to come back."""

    error = "too_many_requests"
    status_code = 429

    def __init__(self, retry_after: int, description: str = "Too many requests.") -> None:
        super().__init__(description, headers={"Retry-After": str(max(1, int(retry_after)))})


class TemporarilyUnavailable(OAuthError):
    """
    RFC 6749 §4.1.2.1's ``temporarily_unavailable``, answered with 503 (RFC 9110 §15.6.4): the
    server cannot serve the request now, and the client did nothing wrong. Given when too many
    client metadata documents are being fetched at once (with ``Retry-After``; raised only before
    the client is known, so never redirected), and at the token endpoint when no signing key can
    be used (before ``migrate`` has created the first one, or when it cannot be decrypted): §5.2
    lists no code for that, and a client that meets this one may retry later.
    """

    error = "temporarily_unavailable"
    status_code = 503

    def __init__(
        self, description: str = "The server is busy; try again shortly.", retry_after: int | None = None
    ) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))} if retry_after is not None else None
        super().__init__(description, headers=headers)


class RequestTooLarge(OAuthError):
    """RFC 9110 §15.5.14: the body exceeds what this endpoint accepts."""

    error = "invalid_request"
    status_code = 413


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: ``prompt=none`` and the user must sign in first."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: ``prompt=none`` and the user has not consented yet."""

    error = "consent_required"


class InteractionRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: ``prompt=none`` and the request needs the user some other way."""

    error = "interaction_required"


class RequestNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6, §6: the ``request`` parameter (request objects) is not supported."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6, §6: the ``request_uri`` parameter is not supported."""

    error = "request_uri_not_supported"


class InvalidAuthorizationRequest(Exception):
    """
    An authorization request whose client or redirect URI could not be validated. It is shown
    on an error page and never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11). The page names
    the RFC error code, for the developer who reads it.
    """

    error = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidLogoutRequest(Exception):
    """
    A logout request (OpenID Connect RP-Initiated Logout 1.0 §2) whose ``id_token_hint``,
    client or ``post_logout_redirect_uri`` could not be validated: shown on a page, never
    redirected (§3.1).
    """

    error = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidUserCode(Exception):
    """
    A user code typed on the device page that names no pending device authorization (RFC 8628
    §3.3). The page says so and approves nothing; a wrong guess is counted (§5.1). ``malformed``:
    the text cannot be a user code at all (not counted).
    """

    def __init__(self, description: str, *, malformed: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.malformed = malformed
