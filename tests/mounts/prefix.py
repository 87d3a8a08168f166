"""twenty-oauth under ``auth/``, its discovery documents at the root: the documented way."""

from django.urls import include, path

from tests.mounts import host_urlpatterns

urlpatterns = [
    *host_urlpatterns,
    path("auth/", include("twenty_oauth.urls")),
    path("", include("twenty_oauth.discovery_urls")),
]
