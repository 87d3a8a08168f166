"""
Multi-table inheritance: ``Member`` is the user model; the fields Django's auth reads live in
its concrete parent's table, and its primary key is the link to that parent (``account_ptr``).
"""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Account(AbstractUser):
    """A concrete parent: a host's own account table."""


class Member(Account):
    team = models.CharField(max_length=100, blank=True)

    objects = UserManager()
