"""
URLconfs of host sites that mount twenty-oauth elsewhere than at their root, for
``override_settings(ROOT_URLCONF=...)``. Each keeps the example site's login page and demo API at
their usual places, where a host's own URLs stay.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from example_project.companies import views

#: The host's own URLs, outside twenty-oauth's include.
host_urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("rest/companies", views.CompanyList.as_view(), name="companies"),
]
