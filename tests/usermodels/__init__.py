"""
Three user models a host site may have, each in an app of its own: ``emaillogin`` (an
``AbstractUser`` that signs in with its email address), ``uuidpk`` (a UUID primary key) and
``inherited`` (multi-table inheritance: the user's fields live in a concrete parent's table and
its primary key is the parent link). ``settings.py`` installs the one ``TWENTY_USER_MODEL`` names;
``flow.py`` runs the whole OAuth flow against it. ``AUTH_USER_MODEL`` cannot change once a
process has migrated, so ``tests/test_user_models.py`` runs each in a process of its own.
"""
