// The device authorization grant (RFC 8628) with oauth4webapi against the live example site, the
// person's side in a real browser (Debian's Chromium, headless, driven by Playwright): a public
// client registers, asks for codes, polls (authorization_pending, then slow_down when it polls
// again at once), and once the person has signed in on verification_uri_complete, confirmed the
// code and allowed it, gets tokens that open the API and refresh. A denied request and an unknown
// user code too.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import * as oauth from 'oauth4webapi';
import { chromium } from 'playwright-core';

import { DEMO_USER } from '../lib/consent.js';
import { REPO, baseUrl } from '../lib/server.js';

const CHROMIUM = process.env.INTEROP_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = `${REPO}interop/artifacts`;
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const insecure = { [oauth.allowInsecureRequests]: true };

let as;
let client;
let browser;
let context;

/** RFC 8628 §3.1-§3.2 through oauth4webapi: the codes a device shows its person. */
async function startDevice() {
  const response = await oauth.deviceAuthorizationRequest(
    as, client, oauth.None(), new URLSearchParams({ scope: 'api profile' }), insecure,
  );
  return oauth.processDeviceAuthorizationResponse(as, client, response);
}

/** One poll of the token endpoint (RFC 8628 §3.4); resolves with the tokens or rejects with the RFC error. */
async function poll(deviceCode) {
  const response = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), deviceCode, insecure);
  return oauth.processDeviceCodeResponse(as, client, response);
}

async function refusedWith(promise, error) {
  await assert.rejects(promise, (thrown) => {
    assert.ok(thrown instanceof oauth.ResponseBodyError, String(thrown));
    assert.equal(thrown.status, 400);
    assert.equal(thrown.error, error);
    return true;
  });
}

/** The person opens verification_uri_complete, signs in if asked, and confirms the code it filled in. */
async function confirmCode(page, started) {
  await page.goto(started.verification_uri_complete);
  if (new URL(page.url()).pathname === '/accounts/login/') {
    await page.getByLabel('Username').fill(DEMO_USER.username);
    await page.getByLabel('Password').fill(DEMO_USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
  assert.equal(await page.getByLabel('Code').inputValue(), started.user_code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: `${client.client_name} wants to access your account from a device` }).waitFor();
  assert.match(await page.locator('main').textContent(), /A device will get access to your account\./);
  assert.equal(await page.locator('.user-code').textContent(), started.user_code);
  assert.deepEqual(await page.locator('ul.scopes code').allTextContents(), ['api', 'profile']);
}

before(async () => {
  const issuer = new URL(baseUrl());
  as = await oauth.processDiscoveryResponse(
    issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  client = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      {
        client_name: 'Device Journey',
        grant_types: [DEVICE_CODE, 'refresh_token'],
        token_endpoint_auth_method: 'none',
      },
      insecure,
    ),
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  context = await browser.newContext({ viewport: { width: 800, height: 900 } });
});

after(async () => {
  await browser?.close();
});

describe('oauth4webapi and Chromium: the device authorization grant', () => {
  test('metadata advertises the device authorization endpoint and grant', () => {
    assert.equal(as.device_authorization_endpoint, new URL('/oauth/device_authorization', as.issuer).href);
    assert.ok(as.grant_types_supported.includes(DEVICE_CODE));
    assert.deepEqual(client.grant_types, [DEVICE_CODE, 'refresh_token']);
  });

  test('pending, slow_down, approved in the browser: tokens that open the API and refresh', async () => {
    const started = await startDevice();
    assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(started.verification_uri, new URL('/oauth/device', as.issuer).href);
    assert.equal(started.verification_uri_complete, `${started.verification_uri}?user_code=${started.user_code}`);
    assert.equal(started.expires_in, 600);
    assert.equal(started.interval, 5);

    await refusedWith(poll(started.device_code), 'authorization_pending');
    await refusedWith(poll(started.device_code), 'slow_down'); // at once, not after `interval` seconds

    const page = await context.newPage();
    await confirmCode(page, started);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/device-consent-page.png`, fullPage: true });
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await page.close();

    const tokens = await poll(started.device_code);
    assert.equal(tokens.token_type, 'bearer');
    assert.deepEqual(tokens.scope.split(' ').sort(), ['api', 'profile']);
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(new URL('/rest/companies', as.issuer), { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      as.issuer,
      insecure,
    );
    assert.equal(claims.client_id, client.client_id);
    const api = await fetch(new URL('/rest/companies', as.issuer), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(api.status, 200);
    assert.equal((await api.json()).length, 5);

    // Redeemed once: the same device code again is invalid_grant.
    await refusedWith(poll(started.device_code), 'invalid_grant');

    const second = await startDevice();
    const page2 = await context.newPage();
    await confirmCode(page2, second); // signed in already: straight to the code
    await page2.getByRole('button', { name: 'Allow' }).click();
    await page2.getByRole('heading', { name: 'Device connected' }).waitFor();
    await page2.close();
    const fresh = await poll(second.device_code);
    const refreshed = await oauth.processRefreshTokenResponse(
      as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), fresh.refresh_token, insecure),
    );
    assert.notEqual(refreshed.refresh_token, fresh.refresh_token);
  });

  test('denied in the browser: access_denied at the token endpoint', async () => {
    const started = await startDevice();
    const page = await context.newPage();
    await confirmCode(page, started);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Access denied' }).waitFor();
    await page.close();
    await refusedWith(poll(started.device_code), 'access_denied');
  });

  test('a wrong code says so and approves nothing', async () => {
    const started = await startDevice();
    const page = await context.newPage();
    await page.goto(started.verification_uri);
    await page.getByLabel('Code').fill('BBBB-BBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').textContent(), /This code is not valid/);
    assert.equal(await page.locator('input[name="grant"]').count(), 0);
    await page.close();
    await refusedWith(poll(started.device_code), 'authorization_pending');
  });
});
