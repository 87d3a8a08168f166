"""The example site's settings read from the environment, as a deployment would set them."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settings_with(**env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | env
    code = "import example_project.settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"
    return subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


def test_debug_off_needs_a_secret_key_of_its_own():
    refused = settings_with(DJANGO_DEBUG="0")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY" in refused.stderr
    accepted = settings_with(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 50, DJANGO_ALLOWED_HOSTS="crm.example.com"
    )
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "False ['crm.example.com']"


def test_the_demo_runs_with_no_environment():
    demo = settings_with()
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "True ['127.0.0.1', 'localhost', '[::1]', 'testserver']"
