"""``GET|POST /oauth/logout``: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

from django.contrib.auth import logout as sign_out
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from twenty_oauth.errors import InvalidLogoutRequest, OAuthError
from twenty_oauth.protocol import logout, parameters, redirect_uris, subjects
from twenty_oauth.views import inputs
from twenty_oauth.views.authorize import ClientRedirect, client_display, display_host, error_page, secure_page

SIGNING_SALT = "twenty_oauth.logout"


@csrf_protect
@require_http_methods(["GET", "POST"])
def end_session(request: HttpRequest) -> HttpResponse:
    """
    The ``end_session_endpoint`` (§2). With an ``id_token_hint`` naming the person signed in,
    they are signed out at once; otherwise a page asks them to confirm (§3: the hint is what
    shows the request comes from their own relying party), with Django's CSRF token. Afterwards
    they go to the ``post_logout_redirect_uri``, with ``state``, only when the client registered
    it exactly (§3.1); else a page says they are signed out.
    """
    user = request.user
    try:
        if request.method == "POST":
            query = signing.loads(
                request.POST.get("request", ""), salt=f"{SIGNING_SALT}:{user.pk}", max_age=3600
            )
            params = parameters.parse(query)
        else:
            params = inputs.parse_query(request)
        lreq = logout.resolve(params, issuer=inputs.site(request).issuer)
    except signing.BadSignature:
        return error_page(request, "This form was changed or has expired. Start again from the application.")
    except InvalidLogoutRequest as exc:
        return _error(request, exc.description, exc.error)
    except OAuthError as exc:
        return _error(request, exc.description or "The logout request is malformed.", exc.error)

    if not user.is_authenticated:
        return _done(request, lreq)
    if request.method == "POST":
        if "confirm" not in request.POST:
            return secure_page(render(request, "twenty_oauth/logged_out.html", {"still_signed_in": True}))
        sign_out(request)
        return _done(request, lreq)
    if lreq.hint_subject is not None and lreq.hint_subject == subjects.subject_of(user):
        sign_out(request)
        return _done(request, lreq)
    return _confirmation_page(request, lreq)


def _error(request: HttpRequest, description: str, error: str) -> HttpResponse:
    response = render(
        request, "twenty_oauth/logged_out.html", {"error": error, "description": description}, status=400
    )
    return secure_page(response)


def _done(request: HttpRequest, lreq: logout.LogoutRequest) -> HttpResponse:
    if lreq.redirect_uri is not None:
        return ClientRedirect(redirect_uris.with_params(lreq.redirect_uri, {"state": lreq.state}))
    return secure_page(render(request, "twenty_oauth/logged_out.html", {}))


def _confirmation_page(request: HttpRequest, lreq: logout.LogoutRequest) -> HttpResponse:
    query = request.META.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
    context = {
        **(client_display(lreq.client) if lreq.client is not None else {}),
        "redirect_host": display_host(lreq.redirect_uri) if lreq.redirect_uri else "",
        "signed_request": signing.dumps(query, salt=f"{SIGNING_SALT}:{request.user.pk}", compress=True),
        "action": reverse("twenty_oauth:end-session"),
    }
    return secure_page(render(request, "twenty_oauth/logout.html", context))
