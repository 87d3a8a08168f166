"""What the pinned DRF base answers at its edges: consumed bodies, the site's limits, error media types."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import override_settings

from tests.conftest import REDIRECT, form
from twenty_oauth.models import Client
from twenty_oauth.protocol.client_information import ClientInformationSerializer
from twenty_oauth.protocol.client_metadata import ClientMetadataSerializer

pytestmark = pytest.mark.django_db

READS_POST = [*settings.MIDDLEWARE, "tests.reads_post_middleware.ReadsPost"]


@override_settings(MIDDLEWARE=READS_POST)
def test_a_body_a_middleware_consumed_as_another_type_is_refused_not_a_500(client, service):
    oauth_client, secret = service
    data = {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret}
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        response = client.post(path, data)  # multipart/form-data, read by the middleware
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "The body must be application/x-www-form-urlencoded.",
        }
    # A form body the middleware read is still the request's body: the token is issued.
    response = client.post("/oauth/token", form(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_the_sites_upload_limit_applies_when_it_is_lower(client):
    metadata = {
        "redirect_uris": [REDIRECT],
        "client_name": "x" * 190,
        "contacts": [f"{'a' * 60}@example.com"] * 10,
    }
    body = json.dumps(metadata)
    assert len(body) > 1000
    response = client.post("/oauth/register", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The request body may have at most 1000 bytes.",
    }
    assert not Client.objects.filter(client_name="x" * 190).exists()


def test_an_error_of_the_jwks_endpoint_is_json_not_a_jwk_set(client):
    response = client.post("/oauth/jwks")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {"error": "invalid_request", "error_description": "Use GET or HEAD."}
    assert client.get("/oauth/jwks")["Content-Type"] == "application/jwk-set+json"


def test_serializers_alive_at_once_in_one_thread_keep_their_own_data(db):
    first = ClientMetadataSerializer(data={"redirect_uris": [REDIRECT], "client_name": "First"})
    second = ClientMetadataSerializer(
        data={"redirect_uris": ["https://b.example/cb"], "client_name": "Second"}
    )
    assert first.fields and second.fields  # the second borrows the thread's fields last
    assert first.is_valid() and second.is_valid()
    assert first.validated_data["client_name"] == "First"
    assert second.validated_data["redirect_uris"] == ["https://b.example/cb"]
    a = Client.objects.create(client_id="a", token_endpoint_auth_method="none", redirect_uris=[REDIRECT])
    b = Client.objects.create(client_id="b", token_endpoint_auth_method="none", redirect_uris=[REDIRECT])
    shown_a = ClientInformationSerializer(a, context={"secret": "secret-a"})
    shown_b = ClientInformationSerializer(b, context={"secret": "secret-b"})
    assert shown_a.fields and shown_b.fields
    assert shown_a.data["client_secret"] == "secret-a" and shown_a.data["client_id"] == "a"
    assert shown_b.data["client_secret"] == "secret-b" and shown_b.data["client_id"] == "b"
