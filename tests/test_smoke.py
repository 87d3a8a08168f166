from tests.conftest import code_tokens


def test_flow(client, user, confidential):
    oauth_client, secret = confidential
    body = code_tokens(client, user, oauth_client, secret)
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    r = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert r.status_code == 200, r.content
    assert len(r.json()) == 5
