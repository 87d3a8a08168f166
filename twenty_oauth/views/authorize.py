"""``GET /oauth/authorize`` and the consent form's POST (RFC 6749 §4.1.1–§4.1.2)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import AccessDenied, InvalidAuthorizationRequest, LoginRequired, OAuthError
from twenty_oauth.models import Client
from twenty_oauth.protocol import authorization, consents, openid, parameters, scopes, subjects, uris
from twenty_oauth.views import inputs, sessions
from twenty_oauth.views.inputs import client_ip, parse_query


class ClientRedirect(HttpResponseRedirect):
    """A 302 to a validated redirect URI, which may use a native app's private-use scheme."""

    def __init__(self, url: str) -> None:
        self.allowed_schemes = [urlsplit(url).scheme]
        super().__init__(url)


def secure_page(response: HttpResponse) -> HttpResponse:
    """
    RFC 9700 §4.16: the page cannot be framed. RFC 9700 §4.2.4: no Referer leaks the request to
    other sites. ``same-origin`` rather than ``no-referrer``: under ``no-referrer`` a browser sends
    ``Origin: null`` with the consent form's POST (Fetch, "append a request Origin header"), which
    Django's CSRF check rightly refuses.
    """
    response["X-Frame-Options"] = "DENY"
    response["Content-Security-Policy"] = "frame-ancestors 'none'"
    response["Referrer-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response


def error_page(
    request: HttpRequest,
    description: str,
    status: int = 400,
    error: str = "invalid_request",
    retry_after: str | None = None,
) -> HttpResponse:
    """Shown when the client or redirect URI could not be validated: nothing is redirected."""
    context = {"description": description, "error": error}
    response = render(request, "twenty_oauth/error.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = retry_after  # RFC 6585 §4, RFC 9110 §10.2.3
    return secure_page(response)


@csrf_protect
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """
    GET shows the consent page to a signed-in user (others go through ``LOGIN_URL`` and come
    back, before anything is sent to the client, even an error). POST carries the user's
    decision, bound by a signature to the exact request shown.

    A client known to this server is checked before the visitor signs in. A client whose
    metadata document would have to be fetched is checked after: an anonymous request makes
    the server fetch nothing.
    """
    signed_in = request.user.is_authenticated
    if request.method == "POST" and not signed_in:
        return error_page(request, "Your session has ended. Start again from the application.")
    try:
        if request.method == "POST":
            query = authorization.unsign_request(request.POST.get("request", ""), request.user)
            params = parameters.parse(query)
        else:
            params = parse_query(request)
        target = authorization.resolve_client(params, ip=client_ip(request), may_fetch=signed_in)
    except signing.BadSignature:
        return error_page(request, "This form was changed or has expired. Start again from the application.")
    except InvalidAuthorizationRequest as exc:
        return error_page(request, exc.description, error=exc.error)
    except OAuthError as exc:
        description = exc.description or "The authorization request is malformed."
        return error_page(
            request,
            description,
            status=exc.status_code,
            error=exc.error,
            retry_after=exc.headers.get("Retry-After"),
        )

    # RFC 9700 §4.11.2: the user signs in before any redirect to the client, errors included,
    # or anyone who registers a redirect URI could use this server to bounce visitors to it.
    # The one exception is OpenID Connect's prompt=none (Core §3.1.2.6), whose whole point is
    # an answer without a page: a valid request is redirected with login_required.
    if not signed_in and not (target is not None and _silent(params)):
        return _sign_in_first(request, params)
    try:
        areq = authorization.validate(inputs.site(request), params, target)
        if not signed_in:
            raise LoginRequired("The user must sign in.")
    except OAuthError as error:
        return ClientRedirect(
            authorization.error_uri(target, inputs.site(request).issuer, params.get("state"), error)
        )

    if request.method == "POST":
        return _decide(request, areq, approved="allow" in request.POST)
    skip = oauth_settings.SKIP_CONSENT
    if areq.openid is not None:
        return _openid_request(request, areq, skip)
    if skip is not None and skip(request, areq.client, areq.scopes):
        return _decide(request, areq, approved=True)
    return _consent_page(request, areq)


def _sign_in_first(request: HttpRequest, params: parameters.Params) -> HttpResponse:
    """
    The login page, then back to this request. For an OpenID request, with its ``login_hint``,
    and without ``prompt=login``, which the sign-in about to happen satisfies (Core §3.1.2.1).
    """
    if "openid" not in (params.get("scope") or "").split():
        return redirect_to_login(request.get_full_path())
    prompt = (params.get("prompt") or "").split()
    back = _without_prompt_login(request) if "login" in prompt else request.get_full_path()
    return sessions.to_login(back, params.get("login_hint"))


def _silent(params: parameters.Params) -> bool:
    """An OpenID request with ``prompt=none`` (Core §3.1.2.1)."""
    return "none" in (params.get("prompt") or "").split() and "openid" in (params.get("scope") or "").split()


def _openid_request(request: HttpRequest, areq: authorization.AuthorizationRequest, skip) -> HttpResponse:
    """
    OpenID Connect Core §3.1.2.1-§3.1.2.4: sign in again when ``prompt=login`` or ``max_age``
    asks for it; ``prompt=none`` answers without any page, or with the error that says which
    page it would have taken; ``prompt=consent`` always shows the consent page.
    """
    oidc = areq.openid
    now = timezone.now()
    session = request.session
    if "login" in oidc.prompt:
        # The login page comes back here without prompt=login; the session remembers that a
        # sign-in newer than now is wanted.
        session[openid.REAUTH_SESSION_KEY] = now.timestamp()
        return sessions.to_login(_without_prompt_login(request), oidc.login_hint)
    reauth_after = session.get(openid.REAUTH_SESSION_KEY)
    must_sign_in = openid.needs_sign_in(
        oidc,
        auth_time=sessions.auth_time(request),
        now=now,
        reauth_after=reauth_after if isinstance(reauth_after, float) else None,
    )
    if "none" in oidc.prompt:
        try:
            if oidc.hint_subject is not None and oidc.hint_subject != subjects.subject_of(request.user):
                raise LoginRequired("The user signed in is not the one id_token_hint names.")
            consented = (skip is not None and skip(request, areq.client, areq.scopes)) or consents.holds(
                request.user, areq.client, areq.scopes
            )
            openid.without_interaction(oidc, must_sign_in=must_sign_in, consented=consented)
        except OAuthError as error:
            return ClientRedirect(authorization.error_uri(areq.target, areq.issuer, areq.state, error))
        return _decide(request, areq, approved=True)
    if must_sign_in:
        session[openid.REAUTH_SESSION_KEY] = now.timestamp()
        return sessions.to_login(request.get_full_path(), oidc.login_hint)
    if "consent" not in oidc.prompt and skip is not None and skip(request, areq.client, areq.scopes):
        return _decide(request, areq, approved=True)
    return _consent_page(request, areq)


def _without_prompt_login(request: HttpRequest) -> str:
    query = request.GET.copy()
    remaining = [value for value in query.get("prompt", "").split() if value != "login"]
    if remaining:
        query["prompt"] = " ".join(remaining)
    else:
        query.pop("prompt", None)
    return f"{request.path}?{query.urlencode()}"


def _decide(request: HttpRequest, areq: authorization.AuthorizationRequest, approved: bool) -> HttpResponse:
    user = request.user
    signal = signals.consent_granted if approved else signals.consent_denied
    signal.send(sender=authorize, client=areq.client, user=user, scopes=areq.scopes, ip=client_ip(request))
    if not approved:
        error = AccessDenied("The user denied the request.")
        return ClientRedirect(authorization.error_uri(areq.target, areq.issuer, areq.state, error))
    authorization.record_consent(areq.client, user, areq.scopes)
    if areq.openid is not None:
        request.session.pop(openid.REAUTH_SESSION_KEY, None)
        code = authorization.issue_code(areq, user, auth_time=sessions.auth_time(request))
    else:
        code = authorization.issue_code(areq, user)
    return ClientRedirect(authorization.response_uri(areq.target, areq.issuer, areq.state, code=code))


def display_host(uri: str) -> str:
    """A URI's host as the user should read it: punycode, so look-alike letters show (RFC 9700 §4.16)."""
    host = urlsplit(uri).hostname or uri
    try:
        return uris.ascii_host(host)
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii")


def client_display(client: Client) -> dict[str, object]:
    """How a consent page presents ``client``: its name, hosts and logo, as a template's context."""
    return {
        "client": client,
        "client_name": client.client_name or display_host(client.client_id),
        "client_host": display_host(client.client_uri) if client.client_uri else "",
        # A client ID metadata document vouches only for its own host: the draft asks to show it.
        "document_host": (
            display_host(client.client_id) if client.source == Client.Source.METADATA_DOCUMENT else ""
        ),
        "logo_uri": client.logo_uri if client.logo_uri.startswith("https://") else "",
    }


def scope_display(names: list[str]) -> list[tuple[str, str]]:
    """Each scope with the description a person reads on a consent page."""
    known = scopes.registry()
    return [(name, known.get(name, name)) for name in names]


def _consent_page(request: HttpRequest, areq: authorization.AuthorizationRequest) -> HttpResponse:
    context = {
        **client_display(areq.client),
        "redirect_host": display_host(areq.target.redirect_uri),
        "redirect_scheme": urlsplit(areq.target.redirect_uri).scheme,
        "scopes": scope_display(areq.scopes),
        "signed_request": authorization.sign_request(
            request.META.get("QUERY_STRING", "").encode("latin-1").decode("utf-8"), request.user
        ),
        "action": reverse("twenty_oauth:authorize"),
        "switch_user_action": reverse("twenty_oauth:switch-user"),
        "switch_user_next": request.get_full_path(),
    }
    return secure_page(render(request, "twenty_oauth/authorize.html", context))


def consent_page_url(candidate: str) -> str | None:
    """
    ``candidate`` as the authorization endpoint's own URL with its query, or as the device
    page's URL (RFC 8628 §3.3), or None if it is anything else. Only a consent page may be where
    signing in again leads: any other ``next`` would make the sign-out form an open redirector
    (RFC 9700 §4.11.2, RFC 6749 §10.15).
    """
    if not candidate or not url_has_allowed_host_and_scheme(candidate, allowed_hosts=None):
        return None
    if any(char in candidate for char in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    if parts.path == reverse("twenty_oauth:device"):
        return f"{parts.path}?{parts.query}" if parts.query else parts.path
    if not parts.query or parts.path != reverse("twenty_oauth:authorize"):
        return None
    return f"{parts.path}?{parts.query}"


@csrf_protect
@require_POST
def switch_user(request: HttpRequest) -> HttpResponse:
    """
    "Not you?" on the consent page and the device page: sign the user out, then send them to
    ``LOGIN_URL`` with that page as ``next``, so that whoever signs in next sees the same request.

    Signing out first matters: a login view with ``redirect_authenticated_user=True`` would send
    a signed-in user straight back as the same person. A POST with Django's CSRF token, never a
    GET, so that no link or image on another site can sign anyone out (RFC 6749 §10.12). A
    ``next`` that is not the authorization endpoint's own URL, or the device page's, is refused
    and signs no one out.
    """
    target = consent_page_url(request.POST.get("next", ""))
    if target is None:
        return error_page(request, "This sign-out form was changed. Start again from the application.")
    logout(request)
    response = redirect_to_login(target)
    add_never_cache_headers(response)
    return response
