"""
Run ``manage.py oauth_cleanup`` in this process and report its time, its peak memory and the
rows it left, as one JSON line (``bench.run`` runs it while tokens are being issued).
``BENCH_CLEANUP_ARGS`` adds options to the command, e.g. ``--batch-size 2000 --pause 0``.
"""

from __future__ import annotations

import io
import json
import os
import resource
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from twenty_oauth.models import AccessToken, AuthorizationCode, RefreshToken, TokenFamily  # noqa: E402

MODELS = (AccessToken, RefreshToken, AuthorizationCode, TokenFamily)


def counts() -> dict[str, int]:
    return {model._meta.model_name: model.objects.count() for model in MODELS}


def main() -> None:
    before = counts()
    output = io.StringIO()
    started = time.monotonic()
    call_command("oauth_cleanup", *os.environ.get("BENCH_CLEANUP_ARGS", "").split(), stdout=output)
    seconds = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "max_rss_mb": peak_kb / 1024,
                "rows_before": before,
                "rows_after": counts(),
                "output": output.getvalue().strip()[-500:],
            }
        )
    )


if __name__ == "__main__":
    main()
