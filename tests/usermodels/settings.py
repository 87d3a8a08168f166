"""
The test settings with the user model that ``TWENTY_USER_MODEL`` names: ``default`` (Django's
``auth.User``), ``email``, ``uuid`` or ``inherited``.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

USER_MODELS = {
    "default": (None, "auth.User"),
    "email": ("tests.usermodels.emaillogin", "emaillogin.User"),
    "uuid": ("tests.usermodels.uuidpk", "uuidpk.User"),
    "inherited": ("tests.usermodels.inherited", "inherited.Member"),
}

app, AUTH_USER_MODEL = USER_MODELS[os.environ.get("TWENTY_USER_MODEL", "default")]
if app is not None:
    INSTALLED_APPS = [*INSTALLED_APPS, app]
