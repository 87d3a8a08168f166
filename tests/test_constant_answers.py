"""
The example's constant views, the benchmark's floor (a0) and scenario (b): one answer with and
without the Bearer check, and no query but the check's own.
"""

import pytest

from example_project.companies.views import CONSTANT_ANSWER
from tests.conftest import code_tokens

pytestmark = pytest.mark.django_db


def test_public_constant_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/rest/constant-public")
    assert response.status_code == 200
    assert response.json() == CONSTANT_ANSWER


def test_protected_constant_needs_a_token(client):
    response = client.get("/rest/constant")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_protected_constant_costs_only_the_bearer_check(
    client, user, confidential, django_assert_num_queries
):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    # The token's row, with its client and user, read once: revocation is checked every time.
    with django_assert_num_queries(1):
        response = client.get("/rest/constant", **auth)
    assert response.status_code == 200
    assert response.content == client.get("/rest/constant-public").content


def test_protected_constant_needs_the_api_scope(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret, scope="profile")["access_token"]
    response = client.get("/rest/constant", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
