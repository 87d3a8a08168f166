"""HasScope and TokenHasScope on views of their own, and a client's token meeting model permissions."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import path
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.conftest import code_tokens, token_request
from twenty_oauth.drf import BearerTokenAuthentication, HasScope, TokenHasScope
from twenty_oauth.models import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class Reports(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [TokenHasScope]
    required_scopes = ["api"]

    def get(self, request):
        return Response({"ok": True})


class Unconfigured(Reports):
    required_scopes = []


class ReportsWithAnInstance(Reports):
    permission_classes = [TokenHasScope()]


class Clients(APIView):
    """A view guarded by model permissions too, as a site may write one."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScope("api"), DjangoModelPermissions]
    queryset = Client.objects.all()

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("reports", Reports.as_view()),
    path("unconfigured", Unconfigured.as_view()),
    path("reports-instance", ReportsWithAnInstance.as_view()),
    path("clients", Clients.as_view()),
    *__import__("example_project.urls").urls.urlpatterns,
]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_token_has_scope_reads_the_views_required_scopes(client, user, confidential):
    oauth_client, secret = confidential
    api = code_tokens(client, user, oauth_client, secret, scope="api")["access_token"]
    profile = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    client.logout()
    for url in ("/reports", "/reports-instance"):
        assert client.get(url, **bearer(api)).status_code == 200
        refused = client.get(url, **bearer(profile))
        assert refused.status_code == 403
        assert 'error="insufficient_scope"' in refused["WWW-Authenticate"]
        assert 'scope="api"' in refused["WWW-Authenticate"]


def test_a_scope_check_naming_no_scope_is_refused_as_misconfigured(client, user, confidential):
    """Every token holds the empty set: a check for no scope would let any token through."""
    with pytest.raises(ImproperlyConfigured):
        HasScope()
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    client.logout()
    with pytest.raises(ImproperlyConfigured, match="required_scopes"):
        client.get("/unconfigured", **bearer(token))


def test_a_clients_own_token_meets_model_permissions_with_a_refusal(client, service):
    oauth_client, secret = service
    data = {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret}
    token = token_request(client, data).json()["access_token"]
    # DjangoModelPermissions asks request.user.has_perms: the client holds none, so 403.
    assert client.get("/clients", **bearer(token)).status_code == 403
    assert client.post("/clients", **bearer(token)).status_code == 403
