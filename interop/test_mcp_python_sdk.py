"""
The official MCP Python SDK (PyPI ``mcp``) against the live site's ``/mcp``: its
``OAuthClientProvider`` discovers the server from the 401, registers (or presents a client ID
metadata document), sends the person to the consent page, redeems the code, and its client
session initializes, lists the tools and calls ``list_companies``. Its client-credentials
providers do the same for a service with no user, with a secret or with a key
(``PrivateKeyJWTOAuthProvider``, RFC 7523 §2.2).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from urllib.parse import urlencode

import httpx2
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from mcp import Client
from mcp.client.auth import OAuthClientProvider, OAuthRegistrationError
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from interop.conftest import admin_client, query_of

REDIRECT_URI = "http://localhost:3030/callback"
EXPECTED_COMPANIES = {"Airbnb", "Figma", "Notion", "Qonto", "Stripe"}


class MemoryStorage:
    """The SDK's ``TokenStorage``, in memory, readable by the test."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Browser:
    """The SDK's redirect and callback handlers: the person approves, the code comes back."""

    def __init__(self, person) -> None:
        self.person = person
        self.location: str | None = None
        self.authorize_urls: list[str] = []

    async def redirect_handler(self, authorization_url: str) -> None:
        self.authorize_urls.append(authorization_url)
        self.location = await asyncio.to_thread(self.person.decide, authorization_url)

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.location and self.location.startswith(REDIRECT_URI), self.location
        params = query_of(self.location)
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


def client_metadata(client_name: str = "MCP Python SDK interop") -> OAuthClientMetadata:
    # application_type (OpenID Connect Registration §2, as the MCP authorization spec asks):
    # native, the SDK's own default, said out loud; its redirect URI is on a loopback host.
    return OAuthClientMetadata(
        client_name=client_name,
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        application_type="native",
    )


def code_provider(
    base_url: str,
    storage: MemoryStorage,
    browser: Browser,
    metadata: OAuthClientMetadata | None = None,
    **options,
) -> OAuthClientProvider:
    """The SDK's authorization-code provider for this site's /mcp, consenting through ``browser``."""
    return OAuthClientProvider(
        server_url=base_url + "/mcp",
        client_metadata=metadata or client_metadata(),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
        **options,
    )


async def use_mcp(url: str, auth: httpx2.Auth) -> tuple[list[str], dict]:
    """Connect, initialize, list the tools and call list_companies; the tool names and result."""
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        tools = await client.list_tools()
        result = await client.call_tool("list_companies", {})
    assert not result.is_error, result
    return [tool.name for tool in tools.tools], result.structured_content


def company_names(structured: dict) -> set[str]:
    return {company["name"] for company in structured["result"]}


def mcp_status(url: str, token: str) -> int:
    """The status of a bare initialize POST with ``token``: 200 accepted, 401 refused."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    response = requests.post(
        url,
        data=json.dumps(body),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        timeout=10,
    )
    return response.status_code


def test_unauthenticated_request_is_challenged_with_resource_metadata(base_url):
    response = requests.post(
        base_url + "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
        timeout=10,
    )
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    metadata_url = f"{base_url}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    document = requests.get(metadata_url, timeout=10).json()
    assert document["resource"] == base_url + "/mcp"
    assert document["authorization_servers"] == [base_url]


def test_oauth_client_provider_with_dynamic_registration(base_url, person):
    storage, browser = MemoryStorage(), Browser(person)
    provider = code_provider(base_url, storage, browser)
    tools, result = asyncio.run(use_mcp(base_url + "/mcp", provider))

    assert tools == ["list_companies"]
    assert company_names(result) == EXPECTED_COMPANIES
    # It registered itself (RFC 7591), asked for this MCP server as the audience (RFC 8707), and
    # the consent page named it.
    assert storage.client_info is not None and not storage.client_info.client_id.startswith("https://")
    assert storage.client_info.application_type == "native", "the registration answer echoes it"
    authorize = query_of(browser.authorize_urls[0])
    assert authorize["resource"] == base_url + "/mcp"
    assert authorize["code_challenge_method"] == "S256"
    assert "MCP Python SDK interop" in person.last_consent_page
    first = storage.tokens
    assert first is not None and first.refresh_token

    # The access token has expired: the provider refreshes (RFC 6749 §6) and carries on.
    provider.context.token_expiry_time = time.time() - 1
    tools, result = asyncio.run(use_mcp(base_url + "/mcp", provider))
    assert company_names(result) == EXPECTED_COMPANIES
    assert len(browser.authorize_urls) == 1, "a refresh must not send the person back to consent"
    assert storage.tokens.access_token != first.access_token
    assert storage.tokens.refresh_token != first.refresh_token, "refresh tokens rotate"
    # The spent refresh token no longer works, the new access token does.
    assert mcp_status(base_url + "/mcp", storage.tokens.access_token) == 200

    # Revocation (RFC 7009): the SDK has no revoke call, so the client does it as it would by hand.
    revoked = requests.post(
        base_url + "/oauth/revoke",
        data={"token": storage.tokens.refresh_token, "client_id": storage.client_info.client_id},
        timeout=10,
    )
    assert revoked.status_code == 200
    assert mcp_status(base_url + "/mcp", storage.tokens.access_token) == 401


def test_tokens_for_another_audience_are_refused(base_url, person):
    storage, browser = MemoryStorage(), Browser(person)
    provider = code_provider(base_url, storage, browser)
    asyncio.run(use_mcp(base_url + "/mcp", provider))
    client_id = storage.client_info.client_id
    # The same client asks for a token for the REST API (the site's default resource).
    refreshed = requests.post(
        base_url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": storage.tokens.refresh_token,
            "client_id": client_id,
            "resource": base_url,
        },
        timeout=10,
    )
    # RFC 8707 §2.2: a refresh may only narrow to the resources of the grant.
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_target"
    assert mcp_status(base_url + "/mcp", "not-a-token") == 401
    # The MCP token is not the REST API's either.
    api = requests.get(
        base_url + "/rest/companies",
        headers={"Authorization": f"Bearer {storage.tokens.access_token}"},
        timeout=10,
    )
    assert api.status_code == 401

    # A token for the REST API (no resource asked: the site's default audience) is not the MCP server's.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    location = person.decide(
        base_url
        + "/oauth/authorize?"
        + urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": REDIRECT_URI,
                "scope": "api",
                "state": "rest",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )
    rest_token = requests.post(
        base_url + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    ).json()["access_token"]
    api = requests.get(
        base_url + "/rest/companies", headers={"Authorization": f"Bearer {rest_token}"}, timeout=10
    )
    assert api.status_code == 200
    assert mcp_status(base_url + "/mcp", rest_token) == 401


def test_oauth_client_provider_with_a_client_id_metadata_document(base_url, person, documents):
    """
    ``client_metadata_url``: the server advertises client_id_metadata_document_supported, so
    the SDK skips registration and presents the URL of its document as its client_id.
    """
    url = documents.url("mcp-python-sdk.json")
    documents.publish(
        "mcp-python-sdk.json",
        {
            "client_id": url,
            "client_name": "MCP Python SDK (metadata document)",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        },
        headers={"Cache-Control": "max-age=300"},
    )
    metadata = requests.get(base_url + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["client_id_metadata_document_supported"] is True

    storage, browser = MemoryStorage(), Browser(person)
    provider = code_provider(
        base_url,
        storage,
        browser,
        client_metadata(client_name="MCP Python SDK (metadata document)"),
        client_metadata_url=url,
    )
    tools, result = asyncio.run(use_mcp(base_url + "/mcp", provider))

    assert tools == ["list_companies"]
    assert company_names(result) == EXPECTED_COMPANIES
    assert storage.client_info.client_id == url
    assert query_of(browser.authorize_urls[0])["client_id"] == url
    # The consent page named the client from its document and showed the document's host.
    assert "MCP Python SDK (metadata document)" in person.last_consent_page
    assert "client-document-host" in person.last_consent_page
    assert documents.hits("mcp-python-sdk.json") >= 1

    # Refresh, then revoke, as that same public client.
    provider.context.token_expiry_time = time.time() - 1
    first = storage.tokens
    _, result = asyncio.run(use_mcp(base_url + "/mcp", provider))
    assert company_names(result) == EXPECTED_COMPANIES
    assert storage.tokens.refresh_token != first.refresh_token
    revoked = requests.post(
        base_url + "/oauth/revoke", data={"token": storage.tokens.refresh_token, "client_id": url}, timeout=10
    )
    assert revoked.status_code == 200
    assert mcp_status(base_url + "/mcp", storage.tokens.access_token) == 401


def test_registration_refuses_a_redirect_uri_its_application_type_forbids(base_url, person):
    """A web client (OpenID Connect Registration §2) may not redirect to a loopback host."""
    storage, browser = MemoryStorage(), Browser(person)
    metadata = client_metadata(client_name="MCP Python SDK web client")
    metadata.application_type = "web"
    provider = code_provider(base_url, storage, browser, metadata)
    with pytest.raises(BaseException) as raised:
        asyncio.run(use_mcp(base_url + "/mcp", provider))
    error = found_within(raised.value, OAuthRegistrationError)
    assert error is not None, repr(raised.value)
    assert "400" in str(error) and "invalid_redirect_uri" in str(error) and "web client" in str(error)
    assert storage.client_info is None and not browser.authorize_urls


def found_within(error: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    """``error`` or the first exception of ``kind`` it wraps (exception groups, causes)."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend([current.__cause__, current.__context__])
    return None


def test_client_credentials_provider(site, base_url):
    service = admin_client(
        site,
        client_name="MCP service",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_basic",
    )
    storage = MemoryStorage()
    provider = ClientCredentialsOAuthProvider(
        server_url=base_url + "/mcp",
        storage=storage,
        client_id=service["client_id"],
        client_secret=service["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        scope="api",
        issuer=base_url,
    )
    tools, result = asyncio.run(use_mcp(base_url + "/mcp", provider))
    assert tools == ["list_companies"]
    assert company_names(result) == EXPECTED_COMPANIES
    token = storage.tokens
    assert token is not None and token.refresh_token is None  # RFC 6749 §4.4.3

    revoked = requests.post(
        base_url + "/oauth/revoke",
        data={"token": token.access_token},
        auth=(service["client_id"], service["client_secret"]),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert mcp_status(base_url + "/mcp", token.access_token) == 401


def test_private_key_jwt_client_credentials_provider(site, base_url):
    """MCP's client-credentials extension with a key instead of a secret: nothing shared is stored."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_jwk = {**ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": "mcp-agent-1"}
    service = admin_client(
        site,
        client_name="MCP signed agent",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="private_key_jwt",
        token_endpoint_auth_signing_alg="ES256",
        jwks={"keys": [public_jwk]},
    )
    assert "client_secret" not in service
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    storage = MemoryStorage()
    provider = PrivateKeyJWTOAuthProvider(
        server_url=base_url + "/mcp",
        storage=storage,
        client_id=service["client_id"],
        assertion_provider=SignedJWTParameters(
            issuer=service["client_id"],
            subject=service["client_id"],
            signing_key=pem,
            signing_algorithm="ES256",
        ).create_assertion_provider(),
        scope="api",
        issuer=base_url,
    )
    tools, result = asyncio.run(use_mcp(base_url + "/mcp", provider))
    assert tools == ["list_companies"]
    assert company_names(result) == EXPECTED_COMPANIES
    token = storage.tokens
    assert token is not None and token.refresh_token is None  # RFC 6749 §4.4.3
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert claims["aud"] == base_url + "/mcp" and claims["client_id"] == service["client_id"]
    assert mcp_status(base_url + "/mcp", token.access_token) == 200
