// oauth4webapi's DPoP() handle (RFC 9449) against the live example site: a public client binds
// its tokens to a WebCrypto key it cannot export; the code exchange and the refresh answer the
// server's nonce challenge (use_dpop_nonce, the site runs with DPOP_NONCES on); the bound token
// opens /rest/companies and /mcp with a proof per request, and nothing without one.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import * as oauth from 'oauth4webapi';

import { decide } from '../lib/consent.js';
import { baseUrl } from '../lib/server.js';

const insecure = { [oauth.allowInsecureRequests]: true };
const REDIRECT_URI = 'http://127.0.0.1:18599/callback';

let issuer;
let as;

/** A token request sent again once with the server's nonce, as RFC 9449 §8 asks. */
async function withNonce(send, process) {
  try {
    return await process(await send());
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return process(await send());
  }
}

async function mcpTools(accessToken, DPoP) {
  const response = await oauth.protectedResourceRequest(
    accessToken,
    'POST',
    new URL('/mcp', issuer),
    new Headers({ accept: 'application/json, text/event-stream', 'content-type': 'application/json' }),
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    { DPoP, ...insecure },
  );
  assert.equal(response.status, 200);
  return (await response.json()).result.tools.map((tool) => tool.name);
}

async function companies(accessToken, DPoP) {
  const response = await oauth.protectedResourceRequest(
    accessToken, 'GET', new URL('/rest/companies', issuer), undefined, undefined, { DPoP, ...insecure },
  );
  assert.equal(response.status, 200);
  return (await response.json()).map((company) => company.name).sort();
}

/** RFC 7638 §3: the SHA-256 thumbprint of an EC public key, computed here apart from the server. */
async function thumbprint(publicKey) {
  const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify({ crv, kty, x, y })));
  return Buffer.from(digest).toString('base64url');
}

before(async () => {
  issuer = new URL(baseUrl());
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  as = await oauth.processDiscoveryResponse(issuer, response);
});

describe('oauth4webapi DPoP', () => {
  test('metadata names the proof algorithms', () => {
    assert.deepEqual(as.dpop_signing_alg_values_supported, ['ES256', 'RS256', 'PS256', 'EdDSA']);
  });

  test('code exchange, API, MCP and refresh with one key; a stolen token is useless', async () => {
    const registration = await oauth.dynamicClientRegistrationRequest(
      as,
      { client_name: 'DPoP agent', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' },
      insecure,
    );
    assert.equal(registration.status, 201);
    const client = await oauth.processDynamicClientRegistrationResponse(registration);
    const keys = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, keys);

    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'api',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      dpop_jkt: await thumbprint(keys.publicKey),
    });
    // The token is for the API and for the MCP server: two resource indicators (RFC 8707).
    url.searchParams.append('resource', issuer.origin);
    url.searchParams.append('resource', new URL('/mcp', issuer).href);
    const callback = await decide(url);
    const params = oauth.validateAuthResponse(as, client, callback, state);

    let nonceAsked = false;
    const tokens = await withNonce(
      () => oauth.authorizationCodeGrantRequest(
        as, client, oauth.None(), params, REDIRECT_URI, codeVerifier, { DPoP, ...insecure },
      ),
      async (response) => {
        try {
          return await oauth.processAuthorizationCodeResponse(as, client, response);
        } catch (error) {
          nonceAsked ||= oauth.isDPoPNonceError(error);
          throw error;
        }
      },
    );
    assert.ok(nonceAsked, 'the server asked for a nonce first');
    assert.equal(tokens.token_type, 'dpop');
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
    assert.equal(claims.cnf.jkt, await thumbprint(keys.publicKey));

    assert.deepEqual(await companies(tokens.access_token, DPoP), ['Airbnb', 'Figma', 'Notion', 'Qonto', 'Stripe']);
    assert.deepEqual(await mcpTools(tokens.access_token, DPoP), ['list_companies']);

    // Without the key: as a Bearer token, the API refuses it (RFC 9449 §7.2).
    const stolen = await fetch(new URL('/rest/companies', issuer), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(stolen.status, 401);
    assert.match(stolen.headers.get('www-authenticate'), /DPoP algs="ES256 RS256 PS256 EdDSA"/);

    // Another key cannot refresh the public client's bound refresh token (RFC 9449 §5).
    const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const refused = await withNonce(
      () => oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, { DPoP: thief, ...insecure }),
      (response) => oauth.processRefreshTokenResponse(as, client, response),
    ).then(() => null, (error) => error);
    assert.ok(refused instanceof oauth.ResponseBodyError, String(refused));
    assert.equal(refused.error, 'invalid_grant');

    // The same key refreshes, and the new token works the same way.
    const refreshed = await withNonce(
      () => oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, { DPoP, ...insecure }),
      (response) => oauth.processRefreshTokenResponse(as, client, response),
    );
    assert.equal(refreshed.token_type, 'dpop');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.deepEqual(await mcpTools(refreshed.access_token, DPoP), ['list_companies']);
    assert.equal((await companies(refreshed.access_token, DPoP)).length, 5);
  });
});
