"""
Django REST framework pieces that protect a host's own API with twenty-oauth's access tokens::

    from twenty_oauth.drf import BearerTokenAuthentication, HasScope

    class CompanyList(ListAPIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = [HasScope("api")]

``request.auth`` is a :class:`twenty_oauth.protocol.verification.VerifiedToken`:
``request.auth.claims`` holds the access token's claims (RFC 9068 §2.2: ``iss``, ``sub``,
``aud``, ``exp``, ``iat``, ``jti``, ``client_id``, ``scope``, and any a hook added), beside
``client``, ``user``, ``scopes`` and ``audience``. For a token issued to a user,
``request.user`` is that user. For a client-credentials token ``request.user`` is a
:class:`ClientPrincipal`, never a real user, unless
``TWENTY_OAUTH["CLIENT_CREDENTIALS_PRINCIPAL"]`` maps it to one of the host's.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import dpop, verification
from twenty_oauth.views import bearer, inputs


class ClientPrincipal:
    """
    ``request.user`` for a token with no user: the client acts for itself (RFC 6749 §4.4).

    ``pk`` (and ``id``) is ``"client:<n>"``, ``n`` being the client's row number: stable for the
    client's life, its own for each client, so DRF's ``UserRateThrottle`` and
    ``ScopedRateThrottle``, which key on ``request.user.pk``, keep one bucket per client
    (``throttle_user_client:7``) apart from every user's. It is short and plain enough for any
    cache's keys, which a ``client_id`` (up to 500 characters, a URL for some clients) is not.

    It is deliberately a value no user can be found by. Looked up in a user table
    (``User.objects.get(pk=request.user.pk)``), it raises ``ValueError`` for an integer primary
    key and ``ValidationError`` for a UUID, and finds nothing in a text key that holds no such
    string: code written for users fails loudly instead of acting for someone. ``None``, the
    other choice, is worse: ``Document.objects.filter(owner_id=None)`` is ``owner_id IS NULL``,
    every document that has no owner. Tell a client from a user with
    ``isinstance(request.user, ClientPrincipal)`` or ``request.auth.user is None``.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pk = self.id = f"client:{client.pk}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientPrincipal) and other.pk == self.pk

    def __hash__(self) -> int:
        return hash(self.pk)

    def __str__(self) -> str:
        return f"client {self.client.client_id}"

    def get_username(self) -> str:
        return ""

    # No permissions, asked any of the ways Django and DRF ask (DjangoModelPermissions uses
    # has_perms): a client acting for itself holds scopes, not model permissions.
    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False


class BearerTokenAuthentication(BaseAuthentication):
    """
    ``Authorization: Bearer <access token>`` (RFC 6750 §2.1), or ``Authorization: DPoP <access
    token>`` with a ``DPoP`` proof (RFC 9449 §7). The token must be signed by this server,
    unexpired, unrevoked, and meant for this API: its ``aud`` must hold ``audience`` (RFC 8707),
    the site's default resource unless a subclass names another::

        class McpAuthentication(BearerTokenAuthentication):
            audience = "https://example.com/mcp"

    A token bound to a DPoP key (``cnf.jkt``) is accepted only with the DPoP scheme and a proof
    signed by that key for this request: its method, its URL on the site's origin (the issuer's
    when ``ISSUER`` is set, never the ``Host`` a client sent), the token's hash, and a ``jti``
    not seen before (RFC 9449 §4.3, §7.2). Every 401 carries ``WWW-Authenticate: Bearer`` with
    the resource's metadata URL (RFC 9728 §5.1) and a ``DPoP`` challenge naming the algorithms
    proofs may use (RFC 9449 §7.1); the error, when a token was presented, is on the challenge of
    the scheme it came with.
    """

    audience: str | None = None

    def get_audience(self, request) -> str:
        return self.audience or inputs.site(request).default_resource

    def get_resource_url(self, request) -> str:
        """The URL a DPoP proof must name in ``htu``: the site's origin and the request's path."""
        return bearer.resource_url(request)

    @sensitive_variables()  # keeps the token out of Django's error reports
    def authenticate(self, request):
        try:
            verified = bearer.verify(
                request, audience=self.get_audience(request), url=self.get_resource_url(request)
            )
        except bearer.Refused as refused:
            request._twenty_oauth_refused = refused
            raise exceptions.AuthenticationFailed(refused.description) from refused
        if verified is None:
            return None
        user = verified.user
        if user is None:
            hook = oauth_settings.CLIENT_CREDENTIALS_PRINCIPAL
            user = hook(verified.client, verified) if hook is not None else ClientPrincipal(verified.client)
        return user, verified

    def authenticate_header(self, request) -> str:
        refused = getattr(request, "_twenty_oauth_refused", None)
        if refused is None:
            # A 401 with a token in the request can only mean that the token was refused.
            found = bearer.presented(request)
            if found is not None:
                refused = bearer.Refused(found[0], "invalid_token", "")
        return bearer.challenges(request, resource=self.get_audience(request), refused=refused)


class InsufficientScope(exceptions.PermissionDenied):
    """403 with ``WWW-Authenticate: Bearer error="insufficient_scope"`` (RFC 6750 §3.1)."""

    default_code = "insufficient_scope"

    def __init__(self, request, scopes: tuple[str, ...], audience: str | None) -> None:
        needed = " ".join(scopes)
        super().__init__(f"This request needs the scope: {needed}.")
        if isinstance(request.auth, verification.VerifiedToken) and request.auth.jkt is not None:
            # RFC 9449 §7.1: the challenge of the scheme the token came with.
            self.auth_header = dpop.challenge("insufficient_scope", scope=needed)
        else:
            self.auth_header = bearer.challenge(
                request, resource=audience, error="insufficient_scope", scope=needed
            )


class HasScope(BasePermission):
    """
    Allow a request whose access token holds every one of ``scopes``. Used as an instance in
    ``permission_classes``: ``[HasScope("api")]``. A request authenticated some other way (a
    session, say) is refused: scopes are a property of tokens.
    """

    def __init__(self, *scopes: str) -> None:
        if not scopes:
            # Every token holds the empty set of scopes: a check for none would let all through.
            raise ImproperlyConfigured("HasScope needs at least one scope, as in HasScope('api').")
        self.scopes = scopes

    def __call__(self) -> HasScope:
        # DRF instantiates each entry of permission_classes; an instance stands for itself, and
        # is shared by every request to the view: it must hold no per-request state.
        return self

    def has_permission(self, request, view) -> bool:
        return self.check(request, self.scopes)

    @staticmethod
    def check(request, scopes: tuple[str, ...]) -> bool:
        """True if the request's token holds ``scopes``; 403 ``insufficient_scope`` if not."""
        token = request.auth
        if not isinstance(token, verification.VerifiedToken):
            return False
        if token.has_scopes(*scopes):
            return True
        authenticator = getattr(request, "successful_authenticator", None)
        audience = (
            authenticator.get_audience(request)
            if isinstance(authenticator, BearerTokenAuthentication)
            else None
        )
        raise InsufficientScope(request, scopes, audience)


class TokenHasScope(BasePermission):
    """
    Like :class:`HasScope`, reading the scopes from the view's ``required_scopes``. Listed as
    the class or as an instance, ``[TokenHasScope()]``: it keeps no state between requests.
    """

    def __call__(self) -> TokenHasScope:
        return self

    def has_permission(self, request, view) -> bool:
        scopes = tuple(getattr(view, "required_scopes", None) or ())
        if not scopes:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses TokenHasScope but sets no required_scopes."
            )
        return HasScope.check(request, scopes)
