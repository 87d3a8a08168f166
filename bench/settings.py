"""
The example site as the benchmark serves it: production-like (DEBUG off, persistent database
connections) on the database chosen by ``BENCH_DB`` (``sqlite``: the file ``BENCH_SQLITE``;
``postgres``: the database ``BENCH_PGDATABASE`` on 127.0.0.1:5432, with server-side binding and
prepared statements unless ``BENCH_PG_CLIENT_BINDING`` is set, through Django's connection pool
when ``BENCH_PG_POOL`` is set). ``BENCH_SQLITE_CACHE_MB``
sets SQLite's page cache (default: SQLite's own 2 MB), to try its effect on a large database;
``BENCH_SQLITE_AUTOCHECKPOINT`` sets how many pages the WAL holds before a commit checkpoints it
(default: SQLite's own 1,000), to try another interval.
``BENCH_SLOW_NAMES_SECONDS`` makes the flood scenario's host names slow to resolve
(``bench/slow_names.py``).
"""

import os

from bench import slow_names
from example_project.settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = "bench-only-not-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

if os.environ.get("BENCH_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "NAME": os.environ.get("BENCH_PGDATABASE", "bench_twenty_oauth"),
            "USER": "postgres",
            "CONN_MAX_AGE": None,
            # As README advises: parameters bound by the server, statements prepared.
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
        }
    }
    if os.environ.get("BENCH_PG_CLIENT_BINDING"):
        # Django's default: values written into the statement's text, planned every time.
        DATABASES["default"]["OPTIONS"] = {}
    if os.environ.get("BENCH_PG_POOL"):
        # Django's pool (psycopg_pool) in place of persistent connections, as README advises.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 4}
else:
    DATABASES["default"]["NAME"] = os.environ["BENCH_SQLITE"]  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
    if os.environ.get("BENCH_SQLITE_CACHE_MB"):
        options = DATABASES["default"]["OPTIONS"]  # noqa: F405
        cache_kib = int(os.environ["BENCH_SQLITE_CACHE_MB"]) * 1024
        options["init_command"] = options["init_command"] + f" PRAGMA cache_size=-{cache_kib};"
    if os.environ.get("BENCH_SQLITE_AUTOCHECKPOINT"):
        options = DATABASES["default"]["OPTIONS"]  # noqa: F405
        pages = int(os.environ["BENCH_SQLITE_AUTOCHECKPOINT"])
        options["init_command"] = options["init_command"] + f" PRAGMA wal_autocheckpoint={pages};"

TWENTY_OAUTH = {
    "ISSUER": "http://127.0.0.1:18200",
    "SCOPES": TWENTY_OAUTH["SCOPES"],  # noqa: F405
    # Codes are seeded ahead of the run that spends them; 600 s is the most RFC 6749 allows.
    "AUTHORIZATION_CODE_LIFETIME": 600,
    # Thousands of registrations from one address are the point of scenario (g).
    "REGISTRATION_RATE_LIMIT": None,
    # The device codes scenario (p) polls are seeded once and go round, like (b2)'s tokens.
    "DEVICE_CODE_LIFETIME": 3600,
    # Scenario (b3)'s DPoP proofs are minted ahead of the run that sends them, each sent once.
    "DPOP_PROOF_MAX_AGE": 3600,
}

# Scenario (i2): the flood's host names resolve as slowly as an attacker's name server makes them.
slow_names.install()
