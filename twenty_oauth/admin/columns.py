"""Columns and searches the admin pages share."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone


def user_search_field() -> str:
    return f"user__{get_user_model().USERNAME_FIELD}"


def live_count(model, client_field: str, **extra) -> Coalesce:
    """A correlated COUNT of a client's live tokens: computed only for the rows on the page."""
    rows = (
        model.objects.filter(
            **{client_field: OuterRef("pk")},
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            **extra,
        )
        .order_by()
        .values(client_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))
