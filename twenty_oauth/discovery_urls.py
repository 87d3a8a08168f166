"""
The discovery documents alone, for a site that mounts ``twenty_oauth.urls`` anywhere but its
root. Include this at the root of the site's URLconf, outside any prefix and ``i18n_patterns``::

    urlpatterns = [
        path("auth/", include("twenty_oauth.urls")),
        path("", include("twenty_oauth.discovery_urls")),
    ]

RFC 8414 §3.1 puts the server metadata of ``https://host/auth`` at
``https://host/.well-known/oauth-authorization-server/auth``, and RFC 9728 §3.1 puts the metadata
of a protected resource at ``https://host/.well-known/oauth-protected-resource`` followed by the
resource's path: on the host's root, whatever the prefix. OpenID Connect Discovery §4 puts the
configuration of ``https://host/auth`` at ``https://host/auth/.well-known/openid-configuration``.
The names live in a namespace of their own, ``twenty_oauth_discovery``, so that
``reverse("twenty_oauth:...")`` stays unambiguous.
"""

from django.urls import re_path

from twenty_oauth.views.metadata import (
    AuthorizationServerMetadataView,
    OpenIDConfigurationView,
    ProtectedResourceMetadataView,
)

app_name = "twenty_oauth_discovery"

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
    re_path(
        r"^\.well-known/openid-configuration(?:/(?P<path>.+))?$",
        OpenIDConfigurationView.as_view(),
        name="openid-configuration",
    ),
    # OpenID Connect Discovery §4.1: an issuer with a path has its configuration after it.
    re_path(
        r"^(?P<prefix>.+)/\.well-known/openid-configuration$",
        OpenIDConfigurationView.as_view(),
        name="openid-configuration-of-path",
    ),
]
