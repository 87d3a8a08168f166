// Where the live example site is, and how to run its management commands against the same
// database. `make test-interop-js` starts the site with interop/server.py and passes its URL in
// INTEROP_BASE_URL, the Python that runs it in INTEROP_PYTHON and its database in SQLITE_PATH.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function baseUrl() {
  const url = process.env.INTEROP_BASE_URL;
  assert.ok(url, 'INTEROP_BASE_URL must name the live example site (make test-interop-js sets it)');
  return new URL(url).origin;
}

/** Runs `python manage.py ...args` of the example site; resolves with its standard output. */
export async function manage(args, env = {}) {
  const python = process.env.INTEROP_PYTHON || `${REPO}.venv/bin/python`;
  const options = { cwd: REPO, env: { ...process.env, ...env } };
  const { stdout } = await promisify(execFile)(python, ['manage.py', ...args], options);
  return stdout;
}

const CREATE_CLIENT = `
import json, os
from twenty_oauth.registration import client_information, create_client, validate
client, secret = create_client(validate(json.loads(os.environ["INTEROP_CLIENT_METADATA"])), source="admin")
print(json.dumps(client_information(client, secret)))
`;

/**
 * A confidential client made by the site's administrator (so allowed client credentials);
 * resolves with its RFC 7591 client information, secret included.
 */
export async function createConfidentialClient({ name, grantTypes, authMethod }) {
  const metadata = { client_name: name, grant_types: grantTypes, token_endpoint_auth_method: authMethod };
  const stdout = await manage(['shell', '-c', CREATE_CLIENT], {
    INTEROP_CLIENT_METADATA: JSON.stringify(metadata),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}
