"""
Every endpoint, from one ``path("", include("twenty_oauth.urls"))`` at the site root. No path
ends in a slash: strict clients refuse to follow a redirect on metadata and token calls.
"""

from django.urls import path, re_path

from twenty_oauth.views import apps, authorize
from twenty_oauth.views.introspection import IntrospectionView
from twenty_oauth.views.jwks import JWKSView
from twenty_oauth.views.metadata import AuthorizationServerMetadataView, ProtectedResourceMetadataView
from twenty_oauth.views.registration import RegistrationView
from twenty_oauth.views.revocation import RevocationView
from twenty_oauth.views.token import TokenView
from twenty_oauth.views.userinfo import UserInfoView

app_name = "twenty_oauth"

urlpatterns = [
    re_path(
        r"^\.well-known/oauth-authorization-server(?:/(?P<path>.+))?$",
        AuthorizationServerMetadataView.as_view(),
        name="server-metadata",
    ),
    re_path(
        r"^\.well-known/oauth-protected-resource(?:/(?P<path>.+))?$",
        ProtectedResourceMetadataView.as_view(),
        name="resource-metadata",
    ),
    path("oauth/register", RegistrationView.as_view(), name="register"),
    path("oauth/authorize", authorize.authorize, name="authorize"),
    path("oauth/switch-user", authorize.switch_user, name="switch-user"),
    path("oauth/token", TokenView.as_view(), name="token"),
    path("oauth/revoke", RevocationView.as_view(), name="revoke"),
    path("oauth/introspect", IntrospectionView.as_view(), name="introspect"),
    path("oauth/jwks", JWKSView.as_view(), name="jwks"),
    path("oauth/userinfo", UserInfoView.as_view(), name="userinfo"),
    path("oauth/apps", apps.authorized_apps, name="apps"),
]
