from django.shortcuts import render
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from example_project.companies.models import Company
from twenty_oauth.drf import BearerTokenAuthentication, HasScope


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "domain_name", "employees", "city"]


class CompanyList(ListAPIView):
    """``GET /rest/companies``: the demo API, for tokens holding the ``api`` scope."""

    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScope("api")]


class PublicCompanyList(ListAPIView):
    """The same JSON with no authentication: the floor the benchmark compares against."""

    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    authentication_classes = []
    permission_classes = []


def home(request):
    return render(request, "home.html")
