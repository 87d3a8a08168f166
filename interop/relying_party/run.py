"""
Run the relying party beside ``make demo``: register it at the provider, migrate its own
database, serve it. Then open http://127.0.0.1:8001/oidc/authenticate/ and sign in as ``demo``.

    python -m interop.relying_party.run [--provider http://127.0.0.1:8000] [--port 8001]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def register(provider: str, base: str) -> dict:
    """Dynamic registration (RFC 7591) of this site at the provider, as a confidential client."""
    metadata = {
        "client_name": "Relying party (mozilla-django-oidc)",
        "redirect_uris": [f"{base}/oidc/callback/"],
        "post_logout_redirect_uris": [f"{base}/whoami"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "openid email profile",
    }
    request = urllib.request.Request(  # noqa: S310 - the provider's URL, given by the person running this
        f"{provider}/oauth/register",
        data=json.dumps(metadata).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provider", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    client = register(args.provider.rstrip("/"), base)
    with tempfile.TemporaryDirectory() as workdir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "interop.relying_party.settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
            "RP_PROVIDER": args.provider.rstrip("/"),
            "RP_CLIENT_ID": client["client_id"],
            "RP_CLIENT_SECRET": client["client_secret"],
            "RP_DATABASE": str(Path(workdir) / "rp.sqlite3"),
        }
        django = [sys.executable, "-m", "django"]
        subprocess.run([*django, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
        print(f"Sign in at {base}/oidc/authenticate/ (demo / demo-password); {base}/whoami says who.")
        serve = [*django, "runserver", "--noreload", f"127.0.0.1:{args.port}"]
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run(serve, cwd=ROOT, env=env)  # noqa: S603


if __name__ == "__main__":
    main()
