from django.urls import include, path

from bench.peer import views

urlpatterns = [
    path("rest/companies", views.CompanyList.as_view()),
    path("rest/companies-public", views.PublicCompanyList.as_view()),
    path("rest/constant", views.ConstantAnswer.as_view()),
    path("rest/constant-public", views.PublicConstantAnswer.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
