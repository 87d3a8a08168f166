from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from example_project.companies import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("rest/companies", views.CompanyList.as_view(), name="companies"),
    path("rest/companies-public", views.PublicCompanyList.as_view(), name="companies-public"),
    path("rest/constant", views.ConstantAnswer.as_view(), name="constant"),
    path("rest/constant-public", views.PublicConstantAnswer.as_view(), name="constant-public"),
    path("", include("twenty_oauth.urls")),
]
