"""
The one base of every JSON endpoint: a DRF ``APIView`` whose policies are pinned, so that nothing
in the host's ``REST_FRAMEWORK`` setting changes an answer the RFCs define.

- No DRF authentication: clients authenticate the OAuth way (RFC 6749 §2.3), inside the view.
- ``AllowAny``, no throttles (the OAuth rate limits are the endpoints' own), no versioning.
- The parsers of :mod:`twenty_oauth.views.parsers` and the renderers of
  :mod:`twenty_oauth.views.renderers`; a content negotiation that ignores ``Accept``.
- Errors rendered by :func:`oauth_exception_handler`, never by the host's ``EXCEPTION_HANDLER``:
  an :class:`~twenty_oauth.errors.OAuthError` becomes its RFC body, status and headers, and DRF's
  own refusals (method, media type, parse error) become the OAuth errors they stand for.
- CORS for browser-based clients where ``cors`` is set: such endpoints take no cookies, so they
  need no CSRF token and allowing every origin exposes nothing. ``OPTIONS`` is the preflight,
  not DRF's metadata.
"""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpResponseBase
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from twenty_oauth.errors import InvalidRequest, OAuthError
from twenty_oauth.views.parsers import OAuthParser, media_type
from twenty_oauth.views.renderers import OAuthJSONRenderer

#: RFC 6749 §5.1: token responses, and every other answer that may carry a secret, are not stored.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

#: CORS (the Fetch standard, "HTTP responses" of the CORS protocol): on every answer of an
#: endpoint a browser may call.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "WWW-Authenticate, Retry-After, DPoP-Nonce",
}
#: On the preflight only: a browser reads these there and nowhere else.
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Headers": "Authorization, Content-Type, DPoP, MCP-Protocol-Version",
    "Access-Control-Max-Age": "86400",
}


_shared: dict[tuple, list] = {}


def _instances(classes: tuple) -> list:
    instances = _shared.get(classes)
    if instances is None:
        instances = _shared[classes] = [cls() for cls in classes]
    return instances


class OAuthContentNegotiation(BaseContentNegotiation):
    """
    The endpoint's one renderer whatever ``Accept`` says (RFC 6749 §5.1 fixes the media type);
    a parser only for the exact media type it reads, parameters such as ``charset`` aside.
    """

    def select_parser(self, request: Request, parsers: list) -> Any:
        sent = media_type(request)
        return next((parser for parser in parsers if parser.media_type == sent), None)

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> tuple:
        return renderers[0], renderers[0].media_type


def oauth_exception_handler(exc: Exception, context: dict) -> Response | None:
    """
    The RFC answer to ``exc``: its JSON body (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3),
    status and headers. DRF's own refusals are turned into the OAuth errors they mean; anything
    else is left to Django (a 404 page, or a 500 that the error reports see).
    """
    view = context.get("view")
    if isinstance(exc, exceptions.MethodNotAllowed):
        methods = [m for m in view.allowed_methods if m != "OPTIONS"]
        error = InvalidRequest(
            f"Use {' or '.join(methods)}.", headers={"Allow": ", ".join(view.allowed_methods)}
        )
        error.status_code = 405
    elif isinstance(exc, exceptions.UnsupportedMediaType | exceptions.ParseError):
        parser = view.body_parser()
        error = parser.error(f"The body must be {parser.media_type}.")
    elif isinstance(exc, OAuthError):
        error = exc
    else:
        return None
    # An error is JSON whatever the endpoint's own media type (the JWKS answers a JWK Set).
    return Response(
        error.as_dict(),
        status=error.status_code,
        headers={**NO_STORE, **error.headers},
        content_type=OAuthJSONRenderer.media_type,
    )


class OAuthAPIView(APIView):
    """
    A JSON endpoint. Subclasses set ``http_method_names`` and, for a body, ``parser_classes``
    (one parser: the media type the RFC names). ``cors`` lets browser-based clients call it;
    ``query_forbidden`` refuses a query string (RFC 6749 §3.2: secrets in the query leak into
    logs), naming the ``endpoint``; ``sensitive`` keeps POST values and local variables out of
    Django's error reports, for endpoints that handle secrets, codes or tokens; ``cache_headers``
    go on a success.
    """

    authentication_classes: tuple = ()
    permission_classes: tuple = (AllowAny,)
    throttle_classes: tuple = ()
    versioning_class = None
    parser_classes: tuple = ()
    renderer_classes: tuple = (OAuthJSONRenderer,)
    content_negotiation_class = OAuthContentNegotiation
    pagination_class = None
    metadata_class = None

    endpoint = "endpoint"
    cors = False
    query_forbidden = False
    sensitive = False
    cache_headers: dict[str, str] = NO_STORE

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)
        if cls.sensitive:
            # Every frame below the view is hidden: the grants and client authentication too.
            view = sensitive_post_parameters()(sensitive_variables()(view))
        return view

    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF would add ``Allow`` to every answer; here only a 405 says what is allowed.
        return {}

    def get_exception_handler(self) -> Any:
        return oauth_exception_handler

    def get_parsers(self) -> list:
        # The parsers and renderers hold no state: one instance each serves every request.
        return _instances(self.parser_classes)

    def get_renderers(self) -> list:
        return _instances(self.renderer_classes)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """
        What DRF's ``initial`` does, less the steps the pinned policies make empty: with no
        authentication classes, ``AllowAny``, no throttles and no versioning they decide nothing,
        and skipping them takes about 40 µs off every request (measured against ``make bench``'s
        token and registration scenarios).
        """
        self.format_kwarg = None
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        request.version, request.versioning_scheme = None, None

    def body_parser(self) -> OAuthParser:
        return self.get_parsers()[0]

    def body(self, request: Request) -> Any:
        """
        The parsed body. DRF reads no parser for an empty body; the media type is checked all
        the same, and the parser decides what an empty body is (no parameters, or invalid JSON).
        """
        if self.query_forbidden and request.META.get("QUERY_STRING"):
            raise InvalidRequest(f"The {self.endpoint} takes its parameters in the POST body only.")
        # The media type first: a body some middleware already consumed as another type (a
        # multipart form, say) can no longer be read, and is refused before anything tries.
        parser = self.get_content_negotiator().select_parser(request, self.get_parsers())
        if parser is None:
            raise exceptions.UnsupportedMediaType(media_type(request))
        if request.stream is not None:
            return request.data
        return parser.parse(io.BytesIO(b""), parser.media_type, request.parser_context)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The CORS preflight (only routed where ``cors`` lists OPTIONS among the methods)."""
        methods = ", ".join(self.allowed_methods)
        return Response(status=204, headers={"Access-Control-Allow-Methods": methods, **PREFLIGHT_HEADERS})

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code < 400 and request.method != "OPTIONS":
            for name, value in self.cache_headers.items():
                response.setdefault(name, value)
        if self.cors:
            for name, value in CORS_HEADERS.items():
                response[name] = value
        return response
