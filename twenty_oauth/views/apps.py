"""
``/oauth/apps``: the signed-in user's authorized applications, and revoking one.

A host links to it from its account menu. Revoking ends the consent and every token the
application holds for this user at once (``consents.revoke_consent``); the application must ask
again before it gets new ones.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from twenty_oauth import signals
from twenty_oauth.models import Consent
from twenty_oauth.protocol import consents
from twenty_oauth.views.authorize import display_host
from twenty_oauth.views.inputs import client_ip

JUST_NOW = timedelta(minutes=1)


@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def authorized_apps(request: HttpRequest) -> HttpResponse:
    """GET lists the user's applications; POST ``consent=<id>`` revokes one and comes back here."""
    if request.method == "POST":
        return _revoke(request)
    now = timezone.now()
    apps = [
        {
            "consent_id": app.consent.pk,
            "name": app.client.client_name or display_host(app.client.client_id),
            "client_host": display_host(app.client.client_uri) if app.client.client_uri else "",
            "logo_uri": app.client.logo_uri if app.client.logo_uri.startswith("https://") else "",
            "scopes": app.scopes,
            "granted_at": app.consent.created_at,
            "last_used_at": app.last_used_at,
            "used_just_now": app.last_used_at is not None and now - app.last_used_at < JUST_NOW,
        }
        for app in consents.authorized_apps(request.user)
    ]
    response = render(
        request,
        "twenty_oauth/apps.html",
        {"apps": apps, "notices": messages.get_messages(request), "action": reverse("twenty_oauth:apps")},
    )
    return _private(response)


def _revoke(request: HttpRequest) -> HttpResponse:
    value = request.POST.get("consent", "")
    consent = (
        Consent.objects.select_related("client").filter(pk=value, user=request.user).first()
        if value.isdigit()
        else None
    )
    if consent is None:
        # Another user's consent, or none: nothing to tell apart from a missing page.
        raise Http404("No such authorization.")
    if consents.revoke_consent(request.user, consent.client):
        signals.consent_revoked.send(
            sender=Consent, client=consent.client, user=request.user, ip=client_ip(request)
        )
    name = consent.client.client_name or display_host(consent.client.client_id)
    messages.success(
        request,
        _("%(name)s can no longer access your account.") % {"name": name},
        fail_silently=True,
    )
    # 303: the browser follows with a GET, so a reload does not post again.
    return _private(HttpResponseRedirect(reverse("twenty_oauth:apps"), status=303))


def _private(response: HttpResponse) -> HttpResponse:
    """An account page: never cached, never framed (a framed revoke button is a clickjacking target)."""
    response["X-Frame-Options"] = "DENY"
    response["Content-Security-Policy"] = "frame-ancestors 'none'"
    response["Referrer-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response
