#!/usr/bin/env bash
# Serve a fresh example site with interop/server.py, run the JavaScript clients against it
# (node --test), then stop the site. `make test-interop-js` calls this after `npm ci`.
#
#   PYTHON=.venv/bin/python interop/js/run.sh [node test files...]
#
# PYTHON (required) has the project and its interop extra installed; INTEROP_JS_PORT (default
# 18500) is the site's port on 127.0.0.1.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:?PYTHON must name the Python that runs the site}"
[[ "$python" == /* ]] || python="$PWD/$python"  # a venv's python: absolute, symlink kept
port="${INTEROP_JS_PORT:-18500}"

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "interop/js: something already listens on 127.0.0.1:$port (set INTEROP_JS_PORT)" >&2
  exit 1
fi

ready="$(mktemp)"
"$python" "$root/interop/server.py" --port "$port" >"$ready" &
site=$!
stop() {
  kill -TERM "$site" 2>/dev/null || true
  wait "$site" 2>/dev/null || true
  rm -f "$ready"
}
trap stop EXIT

line=""
for _ in $(seq 1 480); do
  if [[ "$(wc -l <"$ready")" -ge 1 ]]; then  # a whole line, not one being written
    line="$(head -n1 "$ready")"
    break
  fi
  if ! kill -0 "$site" 2>/dev/null; then
    echo "interop/js: the example site did not start" >&2
    exit 1
  fi
  sleep 0.25
done
if [[ "$line" != READY\ * ]]; then
  echo "interop/js: the example site was not ready within 120 s (${line:-no READY line})" >&2
  exit 1
fi
read -r _ base_url database <<<"$line"

# The tests run management commands (oauth_create_client) against the same site and database.
export INTEROP_BASE_URL="$base_url" INTEROP_PYTHON="$python"
export SQLITE_PATH="$database" DJANGO_SETTINGS_MODULE=interop.settings TWENTY_OAUTH_ISSUER="$base_url"

cd "$here"
if [[ $# -eq 0 ]]; then
  set -- test/
fi
node --test --test-concurrency=1 "$@"
