"""
The authorization request (RFC 6749 §4.1.1) and its response (§4.1.2), with PKCE (RFC 7636),
resource indicators (RFC 8707) and the ``iss`` response parameter (RFC 9207).

Validation runs in two stages, because they fail differently (RFC 6749 §4.1.2.1):

1. :func:`resolve_client` — the client and the redirect URI. Until both are known to be good,
   nothing may be redirected: a failure is shown on an error page.
2. :func:`validate` — everything else. A failure is redirected back to the client with the
   error, its ``state`` and the ``iss``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import (
    InvalidAuthorizationRequest,
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from twenty_oauth.models import AuthorizationCode, Client, Consent
from twenty_oauth.protocol import (
    dpop,
    id_tokens,
    metadata_documents,
    opaque,
    openid,
    pkce,
    redirect_uris,
    resources,
    scopes,
    subjects,
)
from twenty_oauth.protocol.discovery import Site
from twenty_oauth.protocol.parameters import Params

MAX_CODE_LIFETIME = 600  # RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes"
SIGNING_SALT = "twenty_oauth.authorize"


@dataclass
class Target:
    """A validated client and the redirect URI the response may go to."""

    client: Client
    redirect_uri: str
    redirect_uri_sent: bool


@dataclass
class AuthorizationRequest:
    target: Target
    issuer: str
    state: str | None
    scopes: list[str]
    code_challenge: str | None
    resources: list[str] = field(default_factory=list)
    #: RFC 9449 §10: the thumbprint of the DPoP key the code is bound to, or "".
    dpop_jkt: str = ""
    #: The OpenID Connect parameters, for a request with the ``openid`` scope; else None.
    openid: openid.OpenIDRequest | None = None

    @property
    def client(self) -> Client:
        return self.target.client


def resolve_client(params: Params, *, ip: str, may_fetch: bool = True) -> Target | None:
    """
    The client and its redirect URI, or ``InvalidAuthorizationRequest`` for the error page;
    ``TooManyRequests`` or ``TemporarilyUnavailable`` when fetching its metadata document is
    refused for now. ``ip`` is the requester's address.

    Without ``may_fetch`` (a visitor who has not signed in), a client whose metadata document
    would have to be fetched is not resolved: only the form of its URL is checked, and the
    answer is None, so that an anonymous request cannot make the server fetch anything (the
    draft's security considerations). Sending the visitor to this site's own login page first
    redirects nowhere unvalidated (RFC 9700 §4.11.2).
    """
    client_id = params.get("client_id")
    if not client_id:
        raise InvalidAuthorizationRequest("The request has no client_id.")
    try:
        if not may_fetch and metadata_documents.may_fetch(client_id):
            return None
        client = metadata_documents.find_client(client_id, ip=ip)
    except metadata_documents.MetadataDocumentError as exc:
        # A metadata document that cannot be used aborts the request: redirect nowhere.
        raise InvalidAuthorizationRequest(
            f"The application's metadata document cannot be used. {exc.description}"
        ) from exc
    if client is None:
        raise InvalidAuthorizationRequest("The application that sent you here is not registered.")
    requested = params.get("redirect_uri")
    redirect_uri = redirect_uris.find_match(client.redirect_uris, requested)
    if redirect_uri is None:
        if requested is None:
            raise InvalidAuthorizationRequest(
                "The request has no redirect_uri and the application registered several."
            )
        raise InvalidAuthorizationRequest("The redirect_uri is not registered for this application.")
    return Target(client=client, redirect_uri=redirect_uri, redirect_uri_sent=requested is not None)


def validate(site: Site, params: Params, target: Target) -> AuthorizationRequest:
    """
    Check the rest of the request. Raises an ``OAuthError`` that the view redirects to the
    client with ``state`` and ``iss``.
    """
    client = target.client
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is required.")
    if response_type != "code":
        raise UnsupportedResponseType("The only supported response_type is code.")
    if not client.can_use_grant("authorization_code"):
        raise UnauthorizedClient("This client is not registered for authorization_code.")
    granted = scopes.for_authorization(client, params.get("scope"))
    challenge = params.get("code_challenge")
    pkce.validate_challenge(challenge, params.get("code_challenge_method"))
    if challenge is None and (client.is_public or oauth_settings.PKCE_REQUIRED == "all"):
        raise InvalidRequest("code_challenge is required (PKCE with S256, RFC 9700 section 2.1.1).")
    oidc = None
    if id_tokens.is_openid(granted):
        openid.refuse_request_objects(params)
        oidc = openid.parse(params, client, issuer=site.issuer)
    elif "request" in params or "request_uri" in params:
        raise InvalidRequest("Request objects are not supported.")
    audience = resources.requested(site, params.resources) if params.resources else []
    dpop_jkt = params.get("dpop_jkt") or ""
    if dpop_jkt and not dpop.is_thumbprint(dpop_jkt):
        raise InvalidRequest(
            "dpop_jkt must be the base64url SHA-256 thumbprint of a key (RFC 9449 section 10)."
        )
    return AuthorizationRequest(
        target=target,
        issuer=site.issuer,
        state=params.get("state"),
        scopes=granted,
        code_challenge=challenge,
        resources=audience,
        dpop_jkt=dpop_jkt,
        openid=oidc,
    )


def response_uri(target: Target, issuer: str, state: str | None, **params: str) -> str:
    """The redirect back to the client, with ``state`` and ``iss`` on every response (RFC 9207)."""
    return redirect_uris.with_params(target.redirect_uri, {**params, "state": state, "iss": issuer})


def error_uri(target: Target, issuer: str, state: str | None, error: OAuthError) -> str:
    return response_uri(target, issuer, state, **error.as_dict())


def issue_code(areq: AuthorizationRequest, user, auth_time: datetime | None = None) -> str:
    """
    Create a single-use code bound to the client, redirect URI, user, challenge and resource.
    An OpenID request's code also keeps its ``nonce``, the user's ``sub`` and ``auth_time``
    (OpenID Connect Core §3.1.3.6), for the ID token the exchange returns.
    """
    code = opaque.generate_secret()
    now = timezone.now()
    oidc = areq.openid
    lifetime = min(oauth_settings.AUTHORIZATION_CODE_LIFETIME, MAX_CODE_LIFETIME)
    AuthorizationCode.objects.create(
        code_digest=opaque.digest(code),
        client=areq.client,
        user=user,
        redirect_uri=areq.target.redirect_uri,
        redirect_uri_sent=areq.target.redirect_uri_sent,
        scope=" ".join(areq.scopes),
        resource=areq.resources,
        code_challenge=areq.code_challenge or "",
        dpop_jkt=areq.dpop_jkt,
        nonce=(oidc.nonce or "") if oidc else "",
        subject=subjects.subject_of(user) if oidc else "",
        auth_time=auth_time if oidc else None,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    return code


def record_consent(client: Client, user, granted: list[str]) -> None:
    """
    Record that ``user`` allowed ``client`` the ``granted`` scopes. A consent still in force
    keeps the scopes allowed before: the grants made under them live on, and /oauth/apps must
    not show the app holding less than it does. A withdrawn consent starts afresh.
    """
    now = timezone.now()
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            user=user,
            client=client,
            defaults={"scope": " ".join(granted), "created_at": now, "updated_at": now},
        )
        if created:
            return
        held = consent.scope.split() if consent.revoked_at is None else []
        consent.scope = " ".join(dict.fromkeys([*held, *granted]))
        consent.updated_at, consent.revoked_at = now, None
        consent.save(update_fields=["scope", "updated_at", "revoked_at"])


def sign_request(query_string: str, user) -> str:
    """Bind the consent form to the exact request shown and to the user who saw it."""
    return signing.dumps(query_string, salt=f"{SIGNING_SALT}:{user.pk}", compress=True)


def unsign_request(value: str, user) -> str:
    """The query string the consent form was shown for; raises ``signing.BadSignature``."""
    return signing.loads(value, salt=f"{SIGNING_SALT}:{user.pk}", max_age=3600)
