"""
The example site with the login view most sites use: ``redirect_authenticated_user=True`` sends
a visitor who is already signed in straight on to ``next``. It answers at ``/signin``, named
``signin``, so that a test can set ``LOGIN_URL`` to a URL name as Django allows.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from example_project.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("signin", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="signin"),
    *site_urlpatterns,
]
