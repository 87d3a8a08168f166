"""
The example's company lists and constant answers, the protected ones behind
django-oauth-toolkit.
"""

from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from example_project.companies.models import Company

# The example's CONSTANT_ANSWER (example_project/companies/views.py), which this site cannot
# import: that module imports twenty-oauth, which is not installed here.
CONSTANT_ANSWER = {"service": "example CRM", "answer": "constant"}


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "domain_name", "employees", "city"]


class CompanyList(ListAPIView):
    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    authentication_classes = [OAuth2Authentication]
    permission_classes = [TokenHasScope]
    required_scopes = ["api"]


class PublicCompanyList(ListAPIView):
    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    authentication_classes = []
    permission_classes = []


class PublicConstantAnswer(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response(CONSTANT_ANSWER)


class ConstantAnswer(PublicConstantAnswer):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [TokenHasScope]
    required_scopes = ["api"]
