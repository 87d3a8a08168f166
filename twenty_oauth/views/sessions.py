"""
What the site's session says about the person signed in: when they signed in (OpenID Connect
Core §2 ``auth_time``), and the way to the site's login page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from twenty_oauth.protocol.openid import AUTH_TIME_SESSION_KEY


@receiver(user_logged_in, dispatch_uid="twenty_oauth.record_sign_in")
def record_sign_in(sender, request=None, user=None, **kwargs) -> None:
    """Keep the time of each sign-in in the session (``user.last_login`` is per user, not per session)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[AUTH_TIME_SESSION_KEY] = timezone.now().timestamp()


def auth_time(request: HttpRequest) -> datetime | None:
    """When the person of this session signed in: as the session recorded it, else ``last_login``."""
    recorded = request.session.get(AUTH_TIME_SESSION_KEY)
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return datetime.fromtimestamp(recorded, tz=UTC)
    last_login = getattr(request.user, "last_login", None)
    return last_login if isinstance(last_login, datetime) else None


def to_login(next_url: str, login_hint: str | None = None) -> HttpResponseRedirect:
    """
    The site's ``LOGIN_URL`` with ``next``, and ``login_hint`` (OpenID Connect Core §3.1.2.1) for
    a login view that wants to fill in the username.
    """
    query = {REDIRECT_FIELD_NAME: next_url}
    if login_hint:
        query["login_hint"] = login_hint
    login_url = resolve_url(settings.LOGIN_URL)
    separator = "&" if "?" in login_url else "?"
    response = HttpResponseRedirect(f"{login_url}{separator}{urlencode(query)}")
    add_never_cache_headers(response)
    return response
