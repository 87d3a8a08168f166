// Where the live example site is, and how to run its management commands against the same
// database. `make test-interop-js` starts the site with interop/server.py and passes its URL in
// INTEROP_BASE_URL, the Python that runs it in INTEROP_PYTHON, and the site's settings and
// database in DJANGO_SETTINGS_MODULE and SQLITE_PATH, which manage.py inherits.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function baseUrl() {
  const url = process.env.INTEROP_BASE_URL;
  assert.ok(url, 'INTEROP_BASE_URL must name the live example site (make test-interop-js sets it)');
  return new URL(url).origin;
}

/** Runs `python manage.py ...args` of the example site; resolves with its standard output. */
export async function manage(args) {
  const python = process.env.INTEROP_PYTHON || `${REPO}.venv/bin/python`;
  const { stdout } = await promisify(execFile)(python, ['manage.py', ...args], { cwd: REPO });
  return stdout;
}

/**
 * A confidential client made with `manage.py oauth_create_client` (an operator's client, so
 * allowed client credentials); resolves with its RFC 7591 client information, secret included.
 */
export async function createConfidentialClient({ name, grantTypes, authMethod }) {
  const args = ['oauth_create_client', '--name', name, '--auth-method', authMethod, '--json'];
  for (const grantType of grantTypes) args.push('--grant-type', grantType);
  return JSON.parse(await manage(args));
}

/**
 * A private_key_jwt client made with `manage.py oauth_create_client --jwks-file` (an operator's
 * client, so allowed client credentials) from the public JWK Set `jwks`; resolves with its
 * RFC 7591 client information, which holds no secret.
 */
export async function createKeyClient({ name, grantTypes, jwks }) {
  const directory = await mkdtemp(join(tmpdir(), 'twenty-oauth-jwks-'));
  const file = join(directory, 'jwks.json');
  try {
    await writeFile(file, JSON.stringify(jwks));
    const args = ['oauth_create_client', '--name', name, '--jwks-file', file, '--json'];
    for (const grantType of grantTypes) args.push('--grant-type', grantType);
    return JSON.parse(await manage(args));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
