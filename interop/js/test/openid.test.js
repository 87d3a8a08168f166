// oauth4webapi as an OpenID Connect relying party against the live example site: discovery of
// /.well-known/openid-configuration, the ID token of a code exchange validated (iss, aud, azp,
// exp, iat, nonce, auth_time), its signature checked against the JWK Set, at_hash computed and
// compared, UserInfo for the ID token's sub, a refresh that returns a new ID token; a plain
// OAuth request that gets none; prompt=none answered by redirect.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import * as oauth from 'oauth4webapi';

import { decide } from '../lib/consent.js';
import { baseUrl } from '../lib/server.js';

const insecure = { [oauth.allowInsecureRequests]: true };
const REDIRECT_URI = 'http://127.0.0.1:18598/callback';

let issuer;
let as;

/** OpenID Connect Core §3.1.3.6: base64url of the left half of the access token's SHA-256. */
async function atHash(accessToken) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  return Buffer.from(digest.slice(0, digest.length / 2)).toString('base64url');
}

async function register(metadata) {
  const response = await oauth.dynamicClientRegistrationRequest(as, metadata, insecure);
  assert.equal(response.status, 201);
  return oauth.processDynamicClientRegistrationResponse(response);
}

function authorizationUrl(client, params) {
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    ...params,
  });
  return url;
}

/** The code flow approved by the demo user; the token response as oauth4webapi processed it. */
async function signIn(client, scope, { nonce, maxAge } = {}) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const params = { scope, state, code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256' };
  if (nonce) params.nonce = nonce;
  if (maxAge !== undefined) params.max_age = String(maxAge);
  const callback = await decide(authorizationUrl(client, params));
  const validated = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, oauth.ClientSecretBasic(client.client_secret), validated, REDIRECT_URI, codeVerifier, insecure,
  );
  const options = nonce ? { expectedNonce: nonce, maxAge } : {};
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, options);
  // The Response is what validateApplicationLevelSignature takes to find the ID token checked.
  return Object.assign(tokens, { [RESPONSE]: response });
}

const RESPONSE = Symbol('token response');

before(async () => {
  issuer = new URL(baseUrl());
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure });
  as = await oauth.processDiscoveryResponse(issuer, response);
});

describe('oauth4webapi OpenID Connect', () => {
  test('discovery: /.well-known/openid-configuration with the same issuer', () => {
    assert.equal(as.issuer, issuer.origin);
    assert.ok(as.scopes_supported.includes('openid'));
    assert.ok(as.scopes_supported.includes('offline_access'));
    assert.deepEqual(as.subject_types_supported, ['public']);
    assert.ok(as.id_token_signing_alg_values_supported.includes('ES256'));
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.ok(as.claims_supported.includes('sub'));
    assert.ok(as.end_session_endpoint.startsWith(issuer.origin + '/'));
  });

  test('ID token: claims, nonce, auth_time, signature against the JWKS, at_hash; UserInfo sub; refresh', async () => {
    const client = await register({
      client_name: 'oauth4webapi OpenID',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      require_auth_time: true,
    });
    assert.equal(client.require_auth_time, true);
    const nonce = oauth.generateRandomNonce();
    const tokens = await signIn(client, 'openid profile email offline_access', { nonce, maxAge: 300 });
    // iss, aud, azp, exp, iat, nonce and auth_time (within max_age) were checked by the library.
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.aud, client.client_id);
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(claims.preferred_username, 'demo');
    await oauth.validateApplicationLevelSignature(as, tokens[RESPONSE], insecure);
    assert.equal(claims.at_hash, await atHash(tokens.access_token));
    assert.equal(typeof tokens.refresh_token, 'string', 'offline_access was granted');

    const userInfo = await oauth.processUserInfoResponse(
      as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
    );
    assert.equal(userInfo.sub, claims.sub);
    assert.equal(userInfo.email, 'demo@example.com');

    const refreshResponse = await oauth.refreshTokenGrantRequest(
      as, client, oauth.ClientSecretBasic(client.client_secret), tokens.refresh_token, insecure,
    );
    const refreshed = await oauth.processRefreshTokenResponse(as, client, refreshResponse);
    const again = oauth.getValidatedIdTokenClaims(refreshed);
    assert.equal(again.sub, claims.sub);
    assert.equal(again.auth_time, claims.auth_time);
    await oauth.validateApplicationLevelSignature(as, refreshResponse, insecure);
    assert.equal(again.at_hash, await atHash(refreshed.access_token));
  });

  test('openid without offline_access: no refresh token (Core §11); plain OAuth: no ID token', async () => {
    const client = await register({
      client_name: 'oauth4webapi OpenID without offline_access',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const openid = await signIn(client, 'openid', { nonce: oauth.generateRandomNonce() });
    assert.equal(openid.refresh_token, undefined);
    assert.equal(typeof openid.id_token, 'string');
    const plain = await signIn(client, 'api');
    assert.equal(plain.id_token, undefined);
    assert.equal(typeof plain.refresh_token, 'string');
  });

  test('prompt=none from a browser with no session: login_required by redirect, never a page', async () => {
    const client = await register({
      client_name: 'oauth4webapi prompt=none',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const state = oauth.generateRandomState();
    const response = await fetch(authorizationUrl(client, { scope: 'openid', state, prompt: 'none' }), { redirect: 'manual' });
    assert.equal(response.status, 302);
    const callback = new URL(response.headers.get('location'));
    assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
    const error = (() => {
      try {
        oauth.validateAuthResponse(as, client, callback, state);
      } catch (thrown) {
        return thrown;
      }
      return null;
    })();
    assert.ok(error instanceof oauth.AuthorizationResponseError, String(error));
    assert.equal(error.error, 'login_required');
  });
});
