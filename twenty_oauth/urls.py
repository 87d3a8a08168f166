"""
Every endpoint, from one ``path("", include("twenty_oauth.urls"))`` at the site root. No path
ends in a slash: strict clients refuse to follow a redirect on metadata and token calls.
"""

from django.urls import path, re_path

from twenty_oauth.views import (
    apps,
    authorize,
    introspection,
    jwks,
    metadata,
    registration,
    revocation,
    token,
    userinfo,
)

app_name = "twenty_oauth"

urlpatterns = [
    re_path(
        r"^\.well-known/oauth-authorization-server(?:/(?P<path>.+))?$",
        metadata.authorization_server,
        name="server-metadata",
    ),
    re_path(
        r"^\.well-known/oauth-protected-resource(?:/(?P<path>.+))?$",
        metadata.protected_resource,
        name="resource-metadata",
    ),
    path("oauth/register", registration.register, name="register"),
    path("oauth/authorize", authorize.authorize, name="authorize"),
    path("oauth/switch-user", authorize.switch_user, name="switch-user"),
    path("oauth/token", token.token, name="token"),
    path("oauth/revoke", revocation.revoke, name="revoke"),
    path("oauth/introspect", introspection.introspect, name="introspect"),
    path("oauth/jwks", jwks.jwks, name="jwks"),
    path("oauth/userinfo", userinfo.userinfo, name="userinfo"),
    path("oauth/apps", apps.authorized_apps, name="apps"),
]
