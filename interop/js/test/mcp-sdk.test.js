// The official MCP TypeScript SDK, the client most MCP hosts are built on, against the example
// site's /mcp: a 401 leads it through protected-resource discovery (RFC 9728), server metadata
// (RFC 8414), dynamic registration (RFC 7591), authorization code with PKCE and a resource
// indicator (RFC 8707); then it calls the tool, refreshes, and recovers from a revocation.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { decide } from '../lib/consent.js';
import { baseUrl } from '../lib/server.js';

const REDIRECT_URI = 'http://127.0.0.1:18597/oauth/callback';
const DEMO_COMPANIES = ['Airbnb', 'Figma', 'Notion', 'Qonto', 'Stripe'];

/**
 * An MCP host's OAuth storage, in memory. Its "browser" is the demo user approving over HTTP:
 * redirectToAuthorization opens the consent page, allows, and keeps the redirect it got back.
 */
class InMemoryOAuthProvider {
  clientInfo;
  savedTokens = [];
  verifier;
  discovery;
  authorizations = [];
  invalidated = [];

  get redirectUrl() {
    return REDIRECT_URI;
  }

  get clientMetadata() {
    return {
      client_name: 'MCP TypeScript SDK journey',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }

  clientInformation() {
    return this.clientInfo;
  }

  saveClientInformation(info) {
    this.clientInfo = info;
  }

  tokens() {
    return this.savedTokens.at(-1);
  }

  saveTokens(tokens) {
    this.savedTokens.push(tokens);
  }

  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }

  codeVerifier() {
    return this.verifier;
  }

  saveDiscoveryState(state) {
    this.discovery = state;
  }

  discoveryState() {
    return this.discovery;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this.clientInfo = undefined;
    if (scope === 'all' || scope === 'tokens') this.savedTokens.push(undefined);
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  async redirectToAuthorization(authorizationUrl) {
    const callback = await decide(authorizationUrl);
    this.authorizations.push({ authorizationUrl, callback, state: this.lastState });
  }
}

let issuer;
let mcpUrl;

async function connect(provider) {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const client = new Client({ name: 'twenty-oauth interop', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function listCompanies(client) {
  const result = await client.callTool({ name: 'list_companies', arguments: {} });
  assert.notEqual(result.isError, true, JSON.stringify(result.content));
  const text = result.content.map((part) => part.text ?? '').join('\n');
  const names = DEMO_COMPANIES.filter((name) => text.includes(name));
  assert.deepEqual(names, DEMO_COMPANIES, text);
  return result;
}

async function revoke(provider, token) {
  const response = await fetch(new URL('/oauth/revoke', issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: provider.clientInfo.client_id }),
  });
  assert.equal(response.status, 200);
}

/** The first connection: 401, then the SDK's whole authorization, then finishAuth(code). */
async function authorize(provider) {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const client = new Client({ name: 'twenty-oauth interop', version: '1.0.0' });
  await assert.rejects(client.connect(transport), UnauthorizedError);
  const { callback, state, authorizationUrl } = provider.authorizations.at(-1);
  assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
  assert.equal(callback.searchParams.get('state'), state);
  assert.equal(callback.searchParams.get('iss'), issuer.origin);
  await transport.finishAuth(callback.searchParams.get('code'));
  await transport.close();
  return { authorizationUrl };
}

before(() => {
  issuer = new URL(baseUrl());
  mcpUrl = new URL('/mcp', issuer);
});

describe('MCP TypeScript SDK', () => {
  test('connects, authorizes, lists tools and calls list_companies; refreshes; recovers from revocation', async () => {
    const provider = new InMemoryOAuthProvider();
    const { authorizationUrl } = await authorize(provider);

    // What the SDK asked for, found by discovery alone.
    assert.equal(authorizationUrl.origin + authorizationUrl.pathname, new URL('/oauth/authorize', issuer).href);
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizationUrl.searchParams.get('resource'), mcpUrl.href);
    assert.equal(provider.discovery.authorizationServerUrl.replace(/\/$/, ''), issuer.origin);
    assert.equal(provider.discovery.resourceMetadata.resource, mcpUrl.href);
    assert.equal(provider.clientInfo.token_endpoint_auth_method, 'none');
    const [first] = provider.savedTokens;
    assert.equal(first.token_type.toLowerCase(), 'bearer');
    assert.ok(first.refresh_token);

    const { client } = await connect(provider);
    const { tools } = await client.listTools();
    assert.ok(tools.some((tool) => tool.name === 'list_companies'), JSON.stringify(tools));
    await listCompanies(client);

    // The access token stops working: the SDK's next call gets 401 and refreshes by itself.
    await revoke(provider, first.access_token);
    const before = provider.savedTokens.length;
    await listCompanies(client);
    const refreshed = provider.tokens();
    assert.equal(provider.savedTokens.length, before + 1, 'the SDK refreshed once');
    assert.notEqual(refreshed.refresh_token, first.refresh_token, 'the refresh token rotated');
    assert.equal(provider.authorizations.length, 1, 'no new authorization was needed');
    await client.close();

    // Revoking the refresh token ends the grant: the SDK's refresh gets invalid_grant, it drops
    // its tokens and starts a new authorization, which the user approves again.
    await revoke(provider, refreshed.refresh_token);
    await authorize(provider);
    assert.ok(provider.invalidated.includes('tokens'), 'the SDK discarded the revoked tokens');
    assert.equal(provider.authorizations.length, 2);
    const again = await connect(provider);
    await listCompanies(again.client);
    await again.client.close();
  });
});
