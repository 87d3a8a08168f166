"""What every JSON endpoint shares: allowed methods, CORS, and OAuth errors as responses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from twenty_oauth.errors import InvalidRequest, OAuthError
from twenty_oauth.http import error_response

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
    "Access-Control-Max-Age": "86400",
}


def oauth_endpoint(*methods: str, cors: bool = False, sensitive: bool = False) -> Callable:
    """
    Wrap a view: answer only ``methods`` (405 otherwise), render any ``OAuthError`` as its RFC
    JSON body, and, with ``cors``, let browser-based clients call it. Such endpoints take no
    cookies, so they need no CSRF token and allowing every origin exposes nothing.

    A ``sensitive`` view handles secrets, codes or tokens: Django's error reports (the admins'
    email, the debug page) then show neither its POST values nor the local variables of any
    function it calls.
    """

    def decorator(view: Callable[[HttpRequest], HttpResponse]) -> Callable:
        allowed = ", ".join((*methods, "OPTIONS") if cors else methods)
        if sensitive:
            view = sensitive_post_parameters()(sensitive_variables()(view))

        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if cors and request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Access-Control-Allow-Methods"] = allowed
            elif request.method not in methods:
                response = error_response(InvalidRequest(f"Use {' or '.join(methods)}."))
                response.status_code = 405
                response["Allow"] = allowed
            else:
                try:
                    response = view(request, *args, **kwargs)
                except OAuthError as error:
                    response = error_response(error)
            if cors:
                for name, value in CORS_HEADERS.items():
                    response[name] = value
                response["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After"
            return response

        return wrapper

    return decorator
