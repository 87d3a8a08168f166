"""
``/oauth/device``: where a person approves a device (RFC 8628 §3.3), the ``verification_uri``.

Three steps, each a page in the consent page's style:

1. GET asks for the user code the device shows. The ``user_code`` of ``verification_uri_complete``
   only fills the field in: the person still presses *Continue* (§3.3.1, §5.4: a link sent by
   someone else must not approve anything by being opened).
2. POST ``user_code`` looks the code up. A wrong one says so and approves nothing; wrong ones are
   limited per user and per address (§5.1). A right one shows the consent screen: the client,
   the scopes, the code to compare with the device's, and a warning that a device will get
   access to the account.
3. POST ``grant`` with ``allow`` or ``deny`` records the decision, bound by a signature to the
   grant shown and to the person who saw it.

The person signs in first, through the site's ``LOGIN_URL``. Every answer is uncacheable and
cannot be framed; forms are CSRF-protected.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from twenty_oauth import signals
from twenty_oauth.errors import InvalidUserCode, TooManyRequests
from twenty_oauth.models import DeviceGrant
from twenty_oauth.protocol import device_authorization
from twenty_oauth.views.authorize import client_display, error_page, scope_display, secure_page
from twenty_oauth.views.inputs import client_ip

#: The longest user code the form accepts: eight letters, a dash, a few spaces.
MAX_TYPED = 32


@csrf_protect
@require_http_methods(["GET", "POST"])
def device(request: HttpRequest) -> HttpResponse:
    """The device page: the code form (GET, or POST ``user_code``) and the decision (POST ``grant``)."""
    if not request.user.is_authenticated:
        if request.method == "POST":
            return error_page(request, _("Your session has ended. Sign in and type the code again."))
        return redirect_to_login(request.get_full_path())
    if request.method == "GET":
        typed = request.GET.get("user_code", "")
        code = device_authorization.normalize_user_code(typed[:MAX_TYPED])
        return _code_page(request, device_authorization.display_user_code(code) if code else "")
    if "grant" in request.POST:
        return _decide(request)
    return _confirm(request, request.POST.get("user_code", "")[:MAX_TYPED])


def _code_page(
    request: HttpRequest, user_code: str, error: str = "", status: int = 200, headers: dict | None = None
) -> HttpResponse:
    context = {
        "user_code": user_code,
        "error": error,
        "action": reverse("twenty_oauth:device"),
        **_switch_user(user_code),
    }
    response = render(request, "twenty_oauth/device.html", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return secure_page(response)


def _switch_user(user_code: str) -> dict[str, str]:
    """The "Not you?" form: sign out, then come back to this page with the code filled in."""
    page = reverse("twenty_oauth:device")
    return {
        "switch_user_action": reverse("twenty_oauth:switch-user"),
        "switch_user_next": f"{page}?{urlencode({'user_code': user_code})}" if user_code else page,
    }


def _confirm(request: HttpRequest, typed: str) -> HttpResponse:
    """Step 2: the code the person typed, and the consent screen for its grant."""
    try:
        grant = device_authorization.find_pending(typed, user_key=str(request.user.pk), ip=client_ip(request))
    except TooManyRequests as exc:
        minutes = max(1, -(-int(exc.headers["Retry-After"]) // 60))
        message = ngettext(
            "Too many wrong codes. Try again in %(minutes)d minute.",
            "Too many wrong codes. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        return _code_page(request, "", message, status=429, headers=exc.headers)
    except InvalidUserCode as exc:
        if exc.malformed:
            message = _("A code has 8 letters, such as BCDF-GHJK. Type the one your device shows.")
        else:
            message = _("This code is not valid, or it has expired or been used. Check it on your device.")
        return _code_page(request, typed.strip(), message, status=400)
    shown = device_authorization.display_user_code(device_authorization.normalize_user_code(typed))
    context = {
        **client_display(grant.client),
        "scopes": scope_display(grant.scope.split()),
        "user_code": shown,
        "signed_grant": device_authorization.sign_grant(grant, request.user),
        "action": reverse("twenty_oauth:device"),
        **_switch_user(shown),
    }
    return secure_page(render(request, "twenty_oauth/device_authorize.html", context))


def _decide(request: HttpRequest) -> HttpResponse:
    """Step 3: approve or deny the grant the person confirmed."""
    try:
        grant_pk = device_authorization.unsign_grant(request.POST["grant"], request.user)
    except signing.BadSignature:
        return error_page(request, _("This form was changed or has expired. Type the code again."))
    approved = "allow" in request.POST
    grant = device_authorization.decide(grant_pk, request.user, approved=approved)
    if grant is None:
        message = _("This code has expired or was already used. Start again on your device.")
        return _code_page(request, "", message, status=400)
    signal = signals.consent_granted if approved else signals.consent_denied
    signal.send(
        sender=DeviceGrant,
        client=grant.client,
        user=request.user,
        scopes=grant.scope.split(),
        ip=client_ip(request),
    )
    context = {**client_display(grant.client), "approved": approved}
    return secure_page(render(request, "twenty_oauth/device_done.html", context))
