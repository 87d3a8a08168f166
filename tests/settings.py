"""Test settings: the example site, with the database chosen by ``TWENTY_DB`` (sqlite or postgres)."""

import os

from example_project.settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = "tests-only"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TWENTY_OAUTH = {}
LOGGING = {"version": 1, "disable_existing_loggers": False}

if os.environ.get("TWENTY_DB") != "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }
else:
    # One test database per run, so that two runs on one machine never drop each other's.
    test_name = os.environ.get("PGTESTDATABASE") or f"test_twenty_oauth_{os.getpid()}"
    DATABASES["default"]["TEST"] = {"NAME": test_name}  # noqa: F405
