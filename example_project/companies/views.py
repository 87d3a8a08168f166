from django.shortcuts import render
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

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


#: What the two constant views answer: always these bytes, built without the database.
CONSTANT_ANSWER = {"service": "example CRM", "answer": "constant"}


class PublicConstantAnswer(APIView):
    """
    ``GET /rest/constant-public``: a fixed JSON body, no authentication and no query. What a
    DRF view costs on this site by itself (middleware, DRF's request, negotiation and JSON
    renderer): the benchmark's floor (a0).
    """

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response(CONSTANT_ANSWER)


class ConstantAnswer(PublicConstantAnswer):
    """
    ``GET /rest/constant``: the same fixed body for tokens holding the ``api`` scope. It differs
    from ``PublicConstantAnswer`` only by the Bearer check, so the gap between the two is what
    that check costs.
    """

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScope("api")]


def home(request):
    return render(request, "home.html")
