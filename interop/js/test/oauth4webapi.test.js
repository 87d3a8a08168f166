// oauth4webapi, the strictest OAuth client there is, against the live example site: discovery,
// registration, authorization code with PKCE and RFC 9207 `iss`, the API, refresh with rotation,
// client credentials with both secret methods, introspection and revocation; and the same with
// private_key_jwt (RFC 7523 §2.2): WebCrypto keys, their public halves registered as a JWK Set.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import * as oauth from 'oauth4webapi';

import { decide } from '../lib/consent.js';
import { baseUrl, createConfidentialClient, createKeyClient } from '../lib/server.js';

// The example site is served over plain HTTP on loopback; every other check stays on.
const insecure = { [oauth.allowInsecureRequests]: true };
const DEMO_COMPANIES = ['Airbnb', 'Figma', 'Notion', 'Qonto', 'Stripe'];

let issuer;
let as;

async function register(metadata) {
  const response = await oauth.dynamicClientRegistrationRequest(as, metadata, insecure);
  assert.equal(response.status, 201);
  return oauth.processDynamicClientRegistrationResponse(response);
}

/** The private keys of the private_key_jwt clients, by client_id: never sent anywhere. */
const privateKeys = new Map();

function authentication(client) {
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(client.client_secret);
    case 'client_secret_post':
      return oauth.ClientSecretPost(client.client_secret);
    case 'private_key_jwt':
      return oauth.PrivateKeyJwt(privateKeys.get(client.client_id));
    default:
      return oauth.None();
  }
}

const KEY_ALGORITHMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  PS256: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  Ed25519: { name: 'Ed25519' },
};

/** A WebCrypto key pair whose private half cannot be exported, and its public JWK as exported. */
async function keyPair(alg) {
  const { privateKey, publicKey } = await crypto.subtle.generateKey(KEY_ALGORITHMS[alg], false, ['sign', 'verify']);
  const kid = `${alg}-${crypto.randomUUID()}`;
  const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid };
  return { key: { key: privateKey, kid }, jwk };
}

async function companyNames(accessToken) {
  const response = await oauth.protectedResourceRequest(
    accessToken, 'GET', new URL('/rest/companies', issuer), undefined, undefined, insecure,
  );
  assert.equal(response.status, 200);
  return (await response.json()).map((company) => company.name).sort();
}

/** The API refuses the token with an RFC 6750 §3.1 invalid_token challenge. */
async function assertRefused(accessToken) {
  const error = await rejection(companyNames(accessToken));
  assert.ok(error instanceof oauth.WWWAuthenticateChallengeError, String(error));
  assert.equal(error.response.status, 401);
  const [challenge] = error.cause;
  assert.equal(challenge.scheme, 'bearer');
  assert.equal(challenge.parameters.error, 'invalid_token');
}

/**
 * The token endpoint refused the client's authentication: 401 with a Basic challenge, which
 * oauth4webapi reports before the body, and invalid_client in the body (RFC 6749 §5.2).
 */
async function assertInvalidClient(error) {
  assert.ok(error instanceof oauth.WWWAuthenticateChallengeError, String(error));
  assert.equal(error.status, 401);
  assert.equal(error.cause[0].scheme, 'basic');
  assert.equal((await error.response.json()).error, 'invalid_client');
}

async function introspect(resourceServer, token) {
  const response = await oauth.introspectionRequest(
    as, resourceServer, authentication(resourceServer), token, insecure,
  );
  return oauth.processIntrospectionResponse(as, resourceServer, response);
}

async function revoke(client, token) {
  const response = await oauth.revocationRequest(as, client, authentication(client), token, insecure);
  await oauth.processRevocationResponse(response);
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the request was expected to be refused');
}

/** Authorization code with PKCE, approved by the demo user; returns the validated callback. */
async function authorize(client, { allow = true, scope = 'api profile' } = {}) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    response_type: 'code',
    scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  const callback = await decide(url, { allow });
  return { callback, state, codeVerifier };
}

before(async () => {
  issuer = new URL(baseUrl());
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  as = await oauth.processDiscoveryResponse(issuer, response);
});

describe('oauth4webapi', () => {
  test('discovery: RFC 8414 metadata with the issuer byte for byte and every endpoint', () => {
    assert.equal(as.issuer, issuer.origin);
    for (const name of ['authorization', 'token', 'registration', 'revocation', 'introspection']) {
      assert.ok(as[`${name}_endpoint`].startsWith(issuer.origin + '/'), `${name}_endpoint`);
    }
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
  });

  test('application_type (OpenID Connect Registration §2): native stored and echoed, web held to https', async () => {
    const native = await register({
      client_name: 'oauth4webapi native',
      redirect_uris: ['http://127.0.0.1/callback', 'com.example.oauth4webapi:/callback'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    });
    assert.equal(native.application_type, 'native');
    assert.deepEqual(native.redirect_uris, ['http://127.0.0.1/callback', 'com.example.oauth4webapi:/callback']);

    const refused = await oauth.dynamicClientRegistrationRequest(
      as,
      { redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none', application_type: 'web' },
      insecure,
    );
    const error = await rejection(oauth.processDynamicClientRegistrationResponse(refused));
    assert.ok(error instanceof oauth.ResponseBodyError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.error, 'invalid_redirect_uri');

    const unknown = await oauth.dynamicClientRegistrationRequest(
      as,
      { redirect_uris: ['https://app.example/callback'], application_type: 'desktop' },
      insecure,
    );
    const unknownError = await rejection(oauth.processDynamicClientRegistrationResponse(unknown));
    assert.equal(unknownError.error, 'invalid_client_metadata');
  });

  for (const method of ['client_secret_basic', 'client_secret_post', 'none']) {
    test(`authorization code + PKCE + iss, API, refresh, introspection, revocation (${method})`, async () => {
      const client = await register({
        client_name: `oauth4webapi ${method}`,
        redirect_uris: ['http://127.0.0.1:18599/callback'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: method,
      });
      assert.equal(client.token_endpoint_auth_method, method);
      assert.ok(client.grant_types.includes('refresh_token'), 'a code client also refreshes');
      assert.equal(typeof client.client_secret, method === 'none' ? 'undefined' : 'string');

      const { callback, state, codeVerifier } = await authorize(client);
      assert.equal(callback.searchParams.get('iss'), as.issuer);
      // Checks state, and iss against the discovered issuer (RFC 9207 §2.4).
      const params = oauth.validateAuthResponse(as, client, callback, state);

      const tokenResponse = await oauth.authorizationCodeGrantRequest(
        as, client, authentication(client), params, client.redirect_uris[0], codeVerifier, insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenResponse);
      assert.equal(tokens.token_type, 'bearer');
      assert.ok(tokens.expires_in > 0);
      assert.equal(typeof tokens.refresh_token, 'string');
      assert.deepEqual(tokens.scope.split(' ').sort(), ['api', 'profile']);

      // An RFC 9068 JWT that a resource server verifies against the published keys.
      const claims = await oauth.validateJwtAccessToken(
        as,
        new Request(new URL('/rest/companies', issuer), { headers: { authorization: `Bearer ${tokens.access_token}` } }),
        as.issuer,
        insecure,
      );
      assert.equal(claims.client_id, client.client_id);
      assert.equal(claims.iss, as.issuer);
      assert.deepEqual(await companyNames(tokens.access_token), DEMO_COMPANIES);

      // The profile scope reads the user's claims, for the same subject as the token's.
      const userInfo = await oauth.processUserInfoResponse(
        as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
      );
      assert.equal(userInfo.preferred_username, 'demo');

      // The code was spent: a second redemption is invalid_grant (RFC 6749 §4.1.2).
      const replay = await oauth.authorizationCodeGrantRequest(
        as, client, authentication(client), params, client.redirect_uris[0], codeVerifier, insecure,
      );
      const replayError = await rejection(oauth.processAuthorizationCodeResponse(as, client, replay));
      assert.ok(replayError instanceof oauth.ResponseBodyError);
      assert.equal(replayError.error, 'invalid_grant');
      // ... and what it issued is revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4): start again.
      await assertRefused(tokens.access_token);

      const again = await authorize(client);
      const fresh = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as, client, authentication(client), oauth.validateAuthResponse(as, client, again.callback, again.state),
          client.redirect_uris[0], again.codeVerifier, insecure,
        ),
      );

      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, authentication(client), fresh.refresh_token, insecure),
      );
      assert.notEqual(refreshed.refresh_token, fresh.refresh_token, 'refresh tokens rotate');
      assert.notEqual(refreshed.access_token, fresh.access_token);
      assert.deepEqual(await companyNames(refreshed.access_token), DEMO_COMPANIES);

      if (method !== 'none') {
        const active = await introspect(client, refreshed.access_token);
        assert.equal(active.active, true);
        assert.equal(active.client_id, client.client_id);
        assert.deepEqual(active.scope.split(' ').sort(), ['api', 'profile']);
        assert.equal((await introspect(client, refreshed.refresh_token)).active, true);
        assert.equal((await introspect(client, fresh.refresh_token)).active, false, 'the spent one is inactive');
      }

      await revoke(client, refreshed.access_token);
      await assertRefused(refreshed.access_token); // a revoked access token stops at once
      await revoke(client, refreshed.refresh_token);
      const afterRevocation = await rejection(
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, authentication(client), refreshed.refresh_token, insecure),
        ),
      );
      assert.equal(afterRevocation.error, 'invalid_grant');
      if (method !== 'none') {
        assert.equal((await introspect(client, refreshed.refresh_token)).active, false);
      }
    });
  }

  test('a denied request comes back as access_denied with state and iss', async () => {
    const client = await register({
      client_name: 'oauth4webapi denied',
      redirect_uris: ['http://127.0.0.1:18599/callback'],
      token_endpoint_auth_method: 'none',
    });
    const { callback, state } = await authorize(client, { allow: false });
    const error = await rejection(Promise.resolve().then(() => oauth.validateAuthResponse(as, client, callback, state)));
    assert.ok(error instanceof oauth.AuthorizationResponseError);
    assert.equal(error.error, 'access_denied');
    assert.equal(error.cause.get('iss'), as.issuer);
  });

  test('client credentials with client_secret_basic and client_secret_post', async () => {
    const client = await createConfidentialClient({
      name: 'oauth4webapi service',
      grantTypes: ['client_credentials'],
      authMethod: 'client_secret_basic',
    });
    for (const auth of [oauth.ClientSecretBasic(client.client_secret), oauth.ClientSecretPost(client.client_secret)]) {
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'api' }, insecure);
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.scope, 'api');
      assert.equal(tokens.refresh_token, undefined, 'no refresh token without a user (RFC 6749 §4.4.3)');
      assert.deepEqual(await companyNames(tokens.access_token), DEMO_COMPANIES);

      const active = await introspect(client, tokens.access_token);
      assert.equal(active.active, true);
      assert.equal(active.client_id, client.client_id);
      await revoke(client, tokens.access_token);
      assert.equal((await introspect(client, tokens.access_token)).active, false);
      await assertRefused(tokens.access_token);
    }
  });

  for (const alg of ['ES256', 'PS256', 'Ed25519']) {
    test(`private_key_jwt (${alg}): registration with a JWK Set, code + PKCE, refresh, introspection, revocation`, async () => {
      assert.ok(as.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
      assert.ok(as.token_endpoint_auth_signing_alg_values_supported.includes(alg));
      const { key, jwk } = await keyPair(alg);
      const client = await register({
        client_name: `oauth4webapi private_key_jwt ${alg}`,
        redirect_uris: ['http://127.0.0.1:18599/callback'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: alg,
        jwks: { keys: [jwk] },
      });
      assert.equal(client.token_endpoint_auth_method, 'private_key_jwt');
      assert.equal(client.client_secret, undefined, 'no secret for a client that signs');
      assert.deepEqual(client.jwks, { keys: [jwk] });
      privateKeys.set(client.client_id, key);

      const { callback, state, codeVerifier } = await authorize(client, { scope: 'api' });
      const params = oauth.validateAuthResponse(as, client, callback, state);
      const tokens = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as, client, authentication(client), params, client.redirect_uris[0], codeVerifier, insecure,
        ),
      );
      assert.equal(typeof tokens.refresh_token, 'string');
      assert.deepEqual(await companyNames(tokens.access_token), DEMO_COMPANIES);

      // The same code again, with a fresh assertion: the code is spent, whoever signs.
      const replay = await oauth.authorizationCodeGrantRequest(
        as, client, authentication(client), params, client.redirect_uris[0], codeVerifier, insecure,
      );
      assert.equal((await rejection(oauth.processAuthorizationCodeResponse(as, client, replay))).error, 'invalid_grant');

      // Without its key the client cannot redeem anything: a public client's request is refused.
      const again = await authorize(client, { scope: 'api' });
      const unsigned = await oauth.authorizationCodeGrantRequest(
        as, client, oauth.None(), oauth.validateAuthResponse(as, client, again.callback, again.state),
        client.redirect_uris[0], again.codeVerifier, insecure,
      );
      await assertInvalidClient(await rejection(oauth.processAuthorizationCodeResponse(as, client, unsigned)));

      const fresh = await authorize(client, { scope: 'api' });
      const second = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as, client, authentication(client), oauth.validateAuthResponse(as, client, fresh.callback, fresh.state),
          client.redirect_uris[0], fresh.codeVerifier, insecure,
        ),
      );
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, authentication(client), second.refresh_token, insecure),
      );
      assert.deepEqual(await companyNames(refreshed.access_token), DEMO_COMPANIES);
      const active = await introspect(client, refreshed.access_token);
      assert.equal(active.active, true);
      assert.equal(active.client_id, client.client_id);
      await revoke(client, refreshed.refresh_token);
      await assertRefused(refreshed.access_token);
    });
  }

  test('client credentials with private_key_jwt', async () => {
    const { key, jwk } = await keyPair('ES256');
    const client = await createKeyClient({
      name: 'oauth4webapi signed service',
      grantTypes: ['client_credentials'],
      jwks: { keys: [jwk] },
    });
    assert.equal(client.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(client.client_secret, undefined);
    privateKeys.set(client.client_id, key);
    for (let round = 0; round < 2; round += 1) {
      // A new assertion (a new jti) for each request.
      const response = await oauth.clientCredentialsGrantRequest(
        as, client, authentication(client), { scope: 'api' }, insecure,
      );
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(tokens.scope, 'api');
      assert.equal(tokens.refresh_token, undefined, 'no refresh token without a user (RFC 6749 §4.4.3)');
      assert.deepEqual(await companyNames(tokens.access_token), DEMO_COMPANIES);
      assert.equal((await introspect(client, tokens.access_token)).active, true);
      await revoke(client, tokens.access_token);
      await assertRefused(tokens.access_token);
    }
    // Another key, even under this client's kid, authenticates nothing.
    const { key: stranger } = await keyPair('ES256');
    const forged = await oauth.clientCredentialsGrantRequest(
      as, client, oauth.PrivateKeyJwt({ key: stranger.key, kid: key.kid }), { scope: 'api' }, insecure,
    );
    await assertInvalidClient(await rejection(oauth.processClientCredentialsResponse(as, client, forged)));
  });

  test('a self-registered client may not use client credentials until an admin allows it', async () => {
    const client = await register({
      client_name: 'oauth4webapi self-registered service',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const response = await oauth.clientCredentialsGrantRequest(
      as, client, oauth.ClientSecretBasic(client.client_secret), { scope: 'api' }, insecure,
    );
    const error = await rejection(oauth.processClientCredentialsResponse(as, client, response));
    assert.ok(error instanceof oauth.ResponseBodyError);
    assert.equal(error.error, 'unauthorized_client');
  });
});
