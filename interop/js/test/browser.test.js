// A real browser (Debian's Chromium, headless, driven by Playwright) through the site's login
// form and consent page: approve, deny, revoke on the authorized-apps page, and a screenshot of
// the consent page for the CI artifacts.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import * as oauth from 'oauth4webapi';
import { chromium } from 'playwright-core';

import { DEMO_USER } from '../lib/consent.js';
import { REPO, baseUrl } from '../lib/server.js';

const CHROMIUM = process.env.INTEROP_CHROMIUM || '/usr/bin/chromium';
const CALLBACK_PORT = Number(process.env.INTEROP_CALLBACK_PORT || 18598);
const REDIRECT_URI = `http://127.0.0.1:${CALLBACK_PORT}/callback`;
const ARTIFACTS = `${REPO}interop/artifacts`;
const insecure = { [oauth.allowInsecureRequests]: true };

let as;
let client;
let browser;
let context;
let callbackServer;
const callbacks = [];

/** The client's redirect URI: a real HTTP listener that records what the browser brings it. */
function listen() {
  callbackServer = createServer((request, response) => {
    if (request.url === '/favicon.ico') {
      response.writeHead(404).end();
      return;
    }
    callbacks.push(new URL(request.url, REDIRECT_URI));
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>Back at the client</title><h1>Back at the client</h1>');
  });
  return new Promise((resolve) => callbackServer.listen(CALLBACK_PORT, '127.0.0.1', resolve));
}

async function authorizationRequest() {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'api profile',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { url, state, codeVerifier };
}

/** Waits for the page to land on the client's redirect URI; returns what it was given. */
async function landedOnCallback(page) {
  await page.waitForURL((url) => url.href.startsWith(REDIRECT_URI));
  assert.equal(await page.locator('h1').textContent(), 'Back at the client');
  const url = new URL(page.url());
  assert.equal(callbacks.at(-1)?.href, url.href, 'the client received the redirect');
  return url;
}

async function consentPage(page) {
  await page.getByRole('heading', { name: `${client.client_name} wants to access your account` }).waitFor();
  assert.ok(page.url().startsWith(as.authorization_endpoint), page.url());
  const scopes = await page.locator('ul.scopes code').allTextContents();
  assert.deepEqual(scopes, ['api', 'profile']);
  assert.match(await page.locator('main').textContent(), /You will then be sent to\s+127\.0\.0\.1/);
}

before(async () => {
  const issuer = new URL(baseUrl());
  as = await oauth.processDiscoveryResponse(
    issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  client = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      { client_name: 'Browser Journey', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' },
      insecure,
    ),
  );
  await listen();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  context = await browser.newContext({ viewport: { width: 800, height: 720 } });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (callbackServer ? callbackServer.close(resolve) : resolve()));
});

describe('Chromium', () => {
  test('signs in on the login form, approves on the consent page, and the code redeems', async () => {
    const page = await context.newPage();
    const { url, state, codeVerifier } = await authorizationRequest();
    await page.goto(url.href);

    // Not signed in: the site's LOGIN_URL, which brings the user back to the same request.
    await page.getByRole('heading', { name: 'Sign in to Example CRM' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/accounts/login/');
    await page.getByLabel('Username').fill(DEMO_USER.username);
    await page.getByLabel('Password').fill(DEMO_USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await consentPage(page);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/consent-page.png`, fullPage: true });

    await page.getByRole('button', { name: 'Allow' }).click();
    const callback = await landedOnCallback(page);
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), as.issuer);
    assert.ok(callback.searchParams.get('code'));

    const params = oauth.validateAuthResponse(as, client, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, codeVerifier, insecure),
    );
    const api = await fetch(new URL('/rest/companies', as.issuer), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(api.status, 200);
    assert.equal((await api.json()).length, 5);
    await page.close();
  });

  test('denies on the consent page: access_denied with state and iss, and no code', async () => {
    const page = await context.newPage();
    const { url, state } = await authorizationRequest();
    await page.goto(url.href);
    await consentPage(page); // the session from the first journey: no login form this time

    await page.getByRole('button', { name: 'Deny' }).click();
    const callback = await landedOnCallback(page);
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), as.issuer);
    assert.equal(callback.searchParams.get('code'), null);
    await page.close();
  });

  test('revokes the application on the authorized-apps page: its tokens stop at once', async () => {
    const page = await context.newPage();
    const { url, state, codeVerifier } = await authorizationRequest();
    await page.goto(url.href);
    await consentPage(page);
    await page.getByRole('button', { name: 'Allow' }).click();
    const params = oauth.validateAuthResponse(as, client, await landedOnCallback(page), state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, codeVerifier, insecure),
    );
    const api = () => fetch(new URL('/rest/companies', as.issuer), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal((await api()).status, 200);

    await page.goto(new URL('/oauth/apps', as.issuer).href);
    await page.getByRole('heading', { name: 'Authorized applications' }).waitFor();
    const revoke = page.getByRole('button', { name: `Revoke access for ${client.client_name}` });
    await revoke.click();
    await revoke.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Authorized applications' }).waitFor();

    assert.equal((await api()).status, 401);
    const refresh = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(as, client, refresh), (error) => error.error === 'invalid_grant');
    await page.close();
  });

  test('an unregistered redirect URI shows an error page and sends the browser nowhere', async () => {
    const page = await context.newPage();
    const { url } = await authorizationRequest();
    // On the client's own listener, so that a wrong redirect would be seen (and stay on loopback).
    url.searchParams.set('redirect_uri', `http://127.0.0.1:${CALLBACK_PORT}/not-registered`);
    const before = callbacks.length;
    const response = await page.goto(url.href);
    assert.equal(response.status(), 400);
    assert.equal(new URL(page.url()).href, url.href, 'no redirect');
    await page.getByRole('heading', { name: 'This authorization request cannot be completed' }).waitFor();
    assert.equal(callbacks.length, before);
    await page.close();
  });
});
