"""
The whole flow with each kind of user model a host site may have: Django's ``User``, an
``AbstractUser`` that signs in with its email address, a UUID primary key, and multi-table
inheritance (the user's fields in a concrete parent's table, the primary key its parent link).

``AUTH_USER_MODEL`` cannot change in a process that has migrated, so each runs in a Python
process of its own (``tests/usermodels/flow.py``) with a fresh test database: registration
(RFC 7591), consent with PKCE (RFC 7636), the code exchange, a Bearer call to the demo API
(RFC 6750), refresh with rotation, userinfo, introspection (RFC 7662), revocation (RFC 7009),
a client-credentials token (RFC 6749 §4.4) and the device grant (RFC 8628).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "kind, model",
    [
        ("default", "auth.User"),
        ("email", "emaillogin.User"),
        ("uuid", "uuidpk.User"),
        ("inherited", "inherited.Member"),
    ],
)
def test_the_whole_flow_works_with_the_user_model(kind, model):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.usermodels.settings",
        "TWENTY_USER_MODEL": kind,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.run(
        [sys.executable, "-m", "tests.usermodels.flow"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = f"{child.stdout}\n{child.stderr}"
    assert child.returncode == 0, output
    assert child.stdout.strip().splitlines()[-1] == f"{model}: the whole flow answered as expected", output
