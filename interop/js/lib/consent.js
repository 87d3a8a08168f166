// A signed-in user approving (or denying) an authorization request over plain HTTP, the way a
// browser submits the site's login form and consent form: cookies, CSRF token, real form bodies.

import assert from 'node:assert/strict';

export const DEMO_USER = { username: 'demo', password: 'demo-password' };

/** A minimal cookie jar for one origin: enough for Django's session and CSRF cookies. */
export class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0\b/i.test(line) || value === '""') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name) {
    return this.#cookies.get(name);
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function hiddenField(html, name) {
  const tag = html.match(new RegExp(`<input[^>]*name="${name}"[^>]*>`));
  assert.ok(tag, `the page has no ${name} field`);
  const value = tag[0].match(/value="([^"]*)"/);
  assert.ok(value, `the ${name} field has no value`);
  return value[1].replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

async function send(jar, url, init = {}) {
  const headers = new Headers(init.headers);
  const cookie = jar.header();
  if (cookie) headers.set('cookie', cookie);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(response);
  return response;
}

/** Signs the demo user in through the site's login form; returns the jar holding the session. */
export async function signIn(baseUrl, user = DEMO_USER, jar = new CookieJar()) {
  const loginUrl = new URL('/accounts/login/', baseUrl);
  const page = await send(jar, loginUrl);
  assert.equal(page.status, 200, 'the login page answers 200');
  const csrf = hiddenField(await page.text(), 'csrfmiddlewaretoken');
  const posted = await send(jar, loginUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', referer: loginUrl.href },
    body: new URLSearchParams({ csrfmiddlewaretoken: csrf, username: user.username, password: user.password, next: '/' }),
  });
  assert.equal(posted.status, 302, `signing in redirects (got ${posted.status})`);
  assert.ok(jar.get('sessionid'), 'signing in sets a session cookie');
  return jar;
}

/**
 * Opens ``authorizationUrl`` as the signed-in user, checks the consent page, and submits the
 * user's decision. Returns the URL the server redirects to (the client's redirect URI).
 */
export async function decide(authorizationUrl, { jar, allow = true } = {}) {
  const url = new URL(authorizationUrl);
  jar ??= await signIn(url.origin);
  const page = await send(jar, url);
  const html = await page.text();
  assert.equal(page.status, 200, `the consent page answers 200 (got ${page.status}: ${html.slice(0, 300)})`);
  assert.equal(page.headers.get('x-frame-options'), 'DENY', 'the consent page cannot be framed');
  const form = {
    csrfmiddlewaretoken: hiddenField(html, 'csrfmiddlewaretoken'),
    request: hiddenField(html, 'request'),
    [allow ? 'allow' : 'deny']: '1',
  };
  // The decision's form is the one that carries the signed request ("Not you?" is a form too).
  const action = new URL(html.match(/<form method="post" action="([^"]+)">(?:(?!<\/form>)[\s\S])*name="request"/)[1], url);
  const decided = await send(jar, action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', referer: url.href },
    body: new URLSearchParams(form),
  });
  assert.equal(decided.status, 302, `the decision redirects to the client (got ${decided.status})`);
  return new URL(decided.headers.get('location'));
}
