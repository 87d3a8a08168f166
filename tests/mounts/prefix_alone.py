"""twenty-oauth under ``auth/`` and nothing at the root: the discovery documents are not found."""

from django.urls import include, path

from tests.mounts import host_urlpatterns

urlpatterns = [
    *host_urlpatterns,
    path("auth/", include("twenty_oauth.urls")),
]
