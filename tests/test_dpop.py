"""DPoP (RFC 9449): tokens bound to the client's key, from the token endpoint to the resource."""

import io
import json

import jwt
import pytest
from django.core.management import call_command

from tests.conftest import (
    REDIRECT,
    code_request,
    decide_device,
    device_poll_request,
    form,
    obtain_code,
    pkce_pair,
    refresh_request,
    register,
    start_device,
    token_request,
)
from tests.dpop import DPoPKey
from tests.factories import make_client
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def dpop_code_tokens(http, user, oauth_client, key, secret=None, **kwargs):
    """The authorization-code flow whose token request carries a DPoP proof of ``key``."""
    verifier, challenge = pkce_pair()
    code = obtain_code(http, user, oauth_client, challenge=challenge, **kwargs)
    response = token_request(http, code_request(oauth_client, code, verifier, secret), HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    return response


# -- RFC 9449 §5: the token endpoint binds the access token ---------------------------------


def test_rfc9449_s5_code_exchange_binds_access_token(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    response = dpop_code_tokens(client, user, oauth_client, key, secret)
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert response["Cache-Control"] == "no-store"
    assert "DPoP-Nonce" not in response
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_rfc9449_s4_3_each_supported_algorithm(client, service, alg):
    oauth_client, secret = service
    key = DPoPKey(alg)
    response = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret},
        HTTP_DPOP=key.proof(),
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_without_proof_token_is_bearer_and_unbound(client, user, confidential):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    body = token_request(client, code_request(oauth_client, code, verifier, secret)).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(body["access_token"])


def test_rfc9449_s5_refresh_binds_the_new_access_token(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    first = dpop_code_tokens(client, user, oauth_client, key, secret).json()
    response = token_request(
        client, refresh_request(oauth_client, first["refresh_token"], secret), HTTP_DPOP=key.proof()
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_rfc9449_s5_device_code_binds_access_token(client, user, device_client):
    key = DPoPKey()
    started = start_device(client, device_client)
    assert decide_device(client, user, started["user_code"]).status_code == 200
    response = token_request(
        client, device_poll_request(device_client, started["device_code"]), HTTP_DPOP=key.proof()
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_rfc9449_s5_error_is_invalid_dpop_proof(client, service):
    oauth_client, secret = service
    response = token_request(
        client,
        {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret},
        HTTP_DPOP="not-a-jwt",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


def test_cors_allows_the_dpop_header(client):
    response = client.options("/oauth/token", HTTP_ORIGIN="https://spa.example")
    assert "DPoP" in response["Access-Control-Allow-Headers"]
    assert "DPoP-Nonce" in response["Access-Control-Expose-Headers"]
    assert response["Access-Control-Max-Age"] == "86400"


def test_cors_answer_carries_what_a_browser_reads_there(client):
    # The Fetch standard (CORS protocol): the allowed request headers and their lifetime are
    # read on the preflight only; the origin and the exposed headers on the answer itself.
    response = client.post(
        "/oauth/token",
        "grant_type=password",
        "application/x-www-form-urlencoded",
        HTTP_ORIGIN="https://spa.example",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "DPoP-Nonce" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Headers" not in response.headers
    assert "Access-Control-Max-Age" not in response.headers


# -- RFC 9449 §7: the resource checks the proof ---------------------------------------------

API_URL = "http://testserver/rest/companies"
ALGS = 'algs="ES256 RS256 PS256 EdDSA"'


def dpop_get(http, token, key, url=API_URL, path="/rest/companies", **proof):
    return http.get(
        path, HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=key.proof(url, "GET", access_token=token, **proof)
    )


def test_rfc9449_s7_bound_token_with_proof_is_accepted(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret).json()["access_token"]
    response = dpop_get(client, token, key)
    assert response.status_code == 200, response.content
    assert [c["name"] for c in response.json()][:2] == ["Airbnb", "Figma"]
    # A new proof for every request: the same token keeps working.
    assert dpop_get(client, token, key).status_code == 200


def test_rfc9449_s7_htu_ignores_the_query(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret).json()["access_token"]
    response = dpop_get(client, token, key, url=API_URL, path="/rest/companies?page=1")
    assert response.status_code == 200, response.content


def test_rfc9449_s7_1_challenge_beside_bearer(client):
    response = client.get("/rest/companies")
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith(
        'Bearer resource_metadata="http://testserver/.well-known/oauth-protected-resource"'
    )
    assert challenge.endswith(f"DPoP {ALGS}")


def test_rfc9449_s7_1_insufficient_scope_on_the_dpop_challenge(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret, scope="profile").json()["access_token"]
    response = dpop_get(client, token, key)
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == f'DPoP error="insufficient_scope", scope="api", {ALGS}'


def test_rfc9449_s6_introspection_shows_cnf_and_token_type(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret).json()["access_token"]
    response = client.post(
        "/oauth/introspect",
        form({"token": token, "client_id": oauth_client.client_id, "client_secret": secret}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["token_type"] == "DPoP"
    assert body["cnf"] == {"jkt": key.jkt}


def test_revocation_ends_a_dpop_token(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret).json()["access_token"]
    revoked = client.post(
        "/oauth/revoke",
        form({"token": token, "client_id": oauth_client.client_id, "client_secret": secret}),
        content_type="application/x-www-form-urlencoded",
    )
    assert revoked.status_code == 200
    response = dpop_get(client, token, key)
    assert response.status_code == 401
    assert 'DPoP error="invalid_token"' in response["WWW-Authenticate"]


def test_rfc9449_s7_userinfo_accepts_a_dpop_token(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret, scope="profile").json()["access_token"]
    url = "http://testserver/oauth/userinfo"
    response = client.get(
        "/oauth/userinfo",
        HTTP_AUTHORIZATION=f"DPoP {token}",
        HTTP_DPOP=key.proof(url, "GET", access_token=token),
    )
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(user.pk)
    as_bearer = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert as_bearer.status_code == 401
    assert as_bearer.json()["error"] == "invalid_token"


# -- the MCP server (twenty_oauth.mcp.DPoP in front of the SDK) -----------------------------

MCP = "http://testserver/mcp"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_ACCEPT = "application/json, text/event-stream"


@pytest.fixture
def mcp(settings):
    from starlette.testclient import TestClient

    from example_project.mcp import server as example_mcp

    settings.TWENTY_OAUTH = {"ISSUER": "http://testserver"}
    _, app = example_mcp.build()
    with TestClient(app, base_url="http://testserver") as http:
        yield http


def mcp_call(http, token, scheme="DPoP", proof=None):
    headers = {"Accept": MCP_ACCEPT, "Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return http.post("/mcp", json=LIST_TOOLS, headers=headers)


@pytest.fixture
def mcp_token(client, user, public, mcp):
    key = DPoPKey()
    body = dpop_code_tokens(client, user, public, key, extra={"resource": MCP}).json()
    return body["access_token"], key


@pytest.mark.django_db(transaction=True)
def test_rfc9449_s7_mcp_accepts_a_dpop_token_with_its_proof(mcp, mcp_token):
    token, key = mcp_token
    response = mcp_call(mcp, token, proof=key.proof(MCP, "POST", access_token=token))
    assert response.status_code == 200, response.text
    assert response.json()["result"]["tools"][0]["name"] == "list_companies"


@pytest.mark.django_db(transaction=True)
def test_rfc9449_s7_2_mcp_refuses_a_bound_token_as_bearer(mcp, mcp_token):
    token, _ = mcp_token
    response = mcp_call(mcp, token, scheme="Bearer")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert challenge.endswith(f"DPoP {ALGS}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "proof_args",
    [
        {"method": "GET"},
        {"url": "http://testserver/rest/companies"},
        {"url": "http://evil.example/mcp"},
        {"access_token": "another"},
    ],
)
@pytest.mark.django_db(transaction=True)
def test_rfc9449_s4_3_mcp_refuses_a_bad_proof(mcp, mcp_token, proof_args):
    token, key = mcp_token
    args = {"url": MCP, "method": "POST", "access_token": token, **proof_args}
    response = mcp_call(mcp, token, proof=key.proof(args.pop("url"), args.pop("method"), **args))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"
    assert 'DPoP error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]
    assert (
        'resource_metadata="http://testserver/.well-known/oauth-protected-resource/mcp"'
        in (response.headers["WWW-Authenticate"])
    )


@pytest.mark.django_db(transaction=True)
def test_rfc9449_s4_3_point_13_mcp_refuses_another_key(mcp, mcp_token):
    token, _ = mcp_token
    response = mcp_call(mcp, token, proof=DPoPKey().proof(MCP, "POST", access_token=token))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"


@pytest.mark.django_db(transaction=True)
def test_rfc9449_s11_1_mcp_refuses_a_replayed_proof(mcp, mcp_token):
    token, key = mcp_token
    proof = key.proof(MCP, "POST", access_token=token)
    assert mcp_call(mcp, token, proof=proof).status_code == 200
    replay = mcp_call(mcp, token, proof=proof)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_dpop_proof"


# -- metadata --------------------------------------------------------------------------------


def test_rfc9449_s5_1_server_metadata_names_the_proof_algorithms(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.json()["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]


def test_rfc9728_s2_resource_metadata_names_the_proof_algorithms(client):
    response = client.get("/.well-known/oauth-protected-resource")
    assert response.status_code == 200
    assert response.json()["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]
    assert "dpop_bound_access_tokens_required" not in response.json()


# -- RFC 9449 §5: public clients' refresh tokens are bound ----------------------------------


def test_rfc9449_s5_public_client_refreshes_with_the_same_key(client, user, public):
    key = DPoPKey()
    first = dpop_code_tokens(client, user, public, key).json()
    response = token_request(client, refresh_request(public, first["refresh_token"]), HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["token_type"] == "DPoP"
    # The successor is bound too.
    again = token_request(client, refresh_request(public, second["refresh_token"]), HTTP_DPOP=key.proof())
    assert again.status_code == 200, again.content


def test_rfc9449_s5_confidential_refresh_token_is_not_bound(client, user, confidential):
    oauth_client, secret = confidential
    first = dpop_code_tokens(client, user, oauth_client, DPoPKey(), secret).json()
    response = token_request(client, refresh_request(oauth_client, first["refresh_token"], secret))
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


# -- RFC 9449 §5.2: clients that registered dpop_bound_access_tokens ------------------------


def test_rfc9449_s5_2_registered_in_client_metadata(client):
    body = register(client, dpop_bound_access_tokens=True)
    assert body["dpop_bound_access_tokens"] is True
    assert Client.objects.get(client_id=body["client_id"]).dpop_bound_access_tokens is True
    assert "dpop_bound_access_tokens" not in register(client)


def test_rfc9449_s5_2_must_be_a_boolean(client):
    response = client.post(
        "/oauth/register",
        json.dumps({"redirect_uris": [REDIRECT], "dpop_bound_access_tokens": "yes"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_rfc9449_s5_2_such_a_client_needs_a_proof(client, user):
    oauth_client, secret = make_client(dpop_bound_access_tokens=True)
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    refused = token_request(client, code_request(oauth_client, code, verifier, secret))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    # The code was not spent: the same request with a proof succeeds.
    response = token_request(
        client, code_request(oauth_client, code, verifier, secret), HTTP_DPOP=DPoPKey().proof()
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"


def test_setting_requires_dpop_of_every_public_client(client, user, public, confidential, settings):
    settings.TWENTY_OAUTH = {"DPOP_REQUIRED_FOR_PUBLIC_CLIENTS": True}
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge)
    refused = token_request(client, code_request(public, code, verifier))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    oauth_client, secret = confidential
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    assert token_request(client, code_request(oauth_client, code, verifier, secret)).status_code == 200


def test_rfc9449_s5_2_create_client_command(db):
    out = io.StringIO()
    call_command(
        "oauth_create_client",
        "--name",
        "Agent",
        "--redirect-uri",
        REDIRECT,
        "--dpop-bound-access-tokens",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["dpop_bound_access_tokens"] is True
    assert Client.objects.get(client_name="Agent").dpop_bound_access_tokens is True


# -- RFC 9449 §10: dpop_jkt binds the authorization code ------------------------------------


def test_rfc9449_s10_dpop_jkt_binds_the_code(client, user, public):
    key = DPoPKey()
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge, extra={"dpop_jkt": key.jkt})
    response = token_request(client, code_request(public, code, verifier), HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


# -- RFC 9449 §8: server nonces -------------------------------------------------------------


def test_rfc9449_s8_nonce_flow(client, service, settings):
    settings.TWENTY_OAUTH = {"DPOP_NONCES": True}
    oauth_client, secret = service
    data = {"grant_type": "client_credentials", "client_id": oauth_client.client_id, "client_secret": secret}
    key = DPoPKey()
    first = token_request(client, data, HTTP_DPOP=key.proof())
    assert first.status_code == 400
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first["DPoP-Nonce"]
    assert nonce
    response = token_request(client, data, HTTP_DPOP=key.proof(nonce=nonce))
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert response["DPoP-Nonce"] == nonce


@pytest.mark.django_db(transaction=True)
def test_rfc9449_s4_3_point_1_mcp_refuses_two_proofs(mcp, mcp_token):
    token, key = mcp_token
    headers = [
        ("accept", MCP_ACCEPT),
        ("authorization", f"DPoP {token}"),
        ("dpop", key.proof(MCP, "POST", access_token=token)),
        ("dpop", key.proof(MCP, "POST", access_token=token)),
    ]
    response = mcp.post("/mcp", json=LIST_TOOLS, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"


def test_rfc9449_s7_1_userinfo_insufficient_scope_on_the_dpop_challenge(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret, scope="api").json()["access_token"]
    proof = key.proof("http://testserver/oauth/userinfo", "GET", access_token=token)
    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response["WWW-Authenticate"] == f'DPoP error="insufficient_scope", scope="profile", {ALGS}'


def test_rfc9449_s7_1_userinfo_bad_proof_is_401_invalid_dpop_proof(client, user, confidential):
    oauth_client, secret = confidential
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret, scope="profile").json()["access_token"]
    proof = key.proof("http://testserver/oauth/userinfo", "POST", access_token=token)
    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_dpop_proof"
    assert f'DPoP error="invalid_dpop_proof", {ALGS}' in response["WWW-Authenticate"]


# -- a resource that requires DPoP (RFC 9728 §2 dpop_bound_access_tokens_required) ----------


def test_rfc9728_s2_a_resource_can_require_dpop(client, user, confidential, settings):
    settings.TWENTY_OAUTH = {"DPOP_REQUIRED_RESOURCES": ["http://testserver"]}
    metadata = client.get("/.well-known/oauth-protected-resource").json()
    assert metadata["dpop_bound_access_tokens_required"] is True
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, oauth_client, challenge=challenge)
    bearer = token_request(client, code_request(oauth_client, code, verifier, secret)).json()["access_token"]
    refused = client.get("/rest/companies", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
    key = DPoPKey()
    token = dpop_code_tokens(client, user, oauth_client, key, secret).json()["access_token"]
    assert dpop_get(client, token, key).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_rfc9728_s2_mcp_can_require_dpop(settings, client, user, public):
    from starlette.testclient import TestClient

    from example_project.mcp import server as example_mcp

    settings.TWENTY_OAUTH = {"ISSUER": "http://testserver", "DPOP_REQUIRED_RESOURCES": [MCP]}
    _, app = example_mcp.build()
    verifier, challenge = pkce_pair()
    code = obtain_code(client, user, public, challenge=challenge, extra={"resource": MCP})
    bearer = token_request(client, code_request(public, code, verifier)).json()["access_token"]
    with TestClient(app, base_url="http://testserver") as http:
        assert mcp_call(http, bearer, scheme="Bearer").status_code == 401
    metadata = client.get("/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["dpop_bound_access_tokens_required"] is True
    assert (
        "dpop_bound_access_tokens_required" not in client.get("/.well-known/oauth-protected-resource").json()
    )
