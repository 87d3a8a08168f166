"""
The indexes a token request writes: the access tokens' partial indexes (a client-credentials
token, with neither a family nor a user, has no entry in them, and every lookup by family or by
user still uses them), one unique index for each token's key, none on a token's expiry, which
cleanup finds by walking the primary key, and a family's link to the grant it came from unique
where it is set, with no entry where it is not (SQLite and PostgreSQL: the PostgreSQL suite
runs this file too).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import (
    AccessTokenFactory,
    AuthorizationCodeFactory,
    DeviceGrantFactory,
    RefreshTokenFactory,
    TokenFamilyFactory,
    UserFactory,
)
from twenty_oauth import cleanup
from twenty_oauth.models import AccessToken, RefreshToken, TokenFamily

pytestmark = pytest.mark.django_db

PARTIAL = {"twenty_oauth_at_family": "family_id", "twenty_oauth_at_user": "user_id"}


def _definition(name: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        row = cursor.fetchone()
    assert row is not None, f"no index {name}"
    return row[0]


def _partial_and_alone(name: str, model, column: str) -> str:
    """Assert that index ``name`` holds only the rows where ``column`` is set, and that no other
    index covers that column alone (a row without one would still write an entry there)."""
    definition = _definition(name).replace('"', "").lower()
    assert f"where ({column} is not null)" in definition or f"where {column} is not null" in definition
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    assert [key for key, value in constraints.items() if value["index"] and value["columns"] == [column]] == [
        name
    ]
    return definition


@pytest.mark.parametrize("name", PARTIAL)
def test_only_rows_with_a_family_or_a_user_are_indexed(name):
    _partial_and_alone(name, AccessToken, PARTIAL[name])


def _plan(queryset) -> str:
    if connection.vendor == "postgresql":
        # A table of a few rows is read whole whatever its indexes: ask what the planner can use.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def test_lookups_by_family_and_by_user_use_them():
    family = TokenFamilyFactory()
    user = UserFactory()
    AccessTokenFactory(family=family, user=user, client=family.client)
    AccessTokenFactory(family=None, user=None, client=family.client)
    tokens = AccessToken.objects
    assert "twenty_oauth_at_family" in _plan(tokens.filter(family_id=family.pk))
    # What revoking a user's families and deleting a user (its cascade) ask.
    assert "twenty_oauth_at_family" in _plan(tokens.filter(family_id__in=[family.pk, family.pk + 1]))
    assert "twenty_oauth_at_user" in _plan(tokens.filter(user=user))
    assert "twenty_oauth_at_user" in _plan(tokens.filter(user__in=[user.pk]))


def test_deleting_a_user_deletes_their_tokens_only():
    family = TokenFamilyFactory()
    mine = AccessTokenFactory(family=family, user=family.user, client=family.client)
    own = AccessTokenFactory(family=None, user=None, client=family.client)
    family.user.delete()
    assert not AccessToken.objects.filter(pk=mine.pk).exists()
    assert AccessToken.objects.filter(pk=own.pk).exists()


KEYS = [(AccessToken, "jti"), (RefreshToken, "token_digest")]


@pytest.mark.parametrize(("model", "column"), KEYS)
def test_a_token_key_has_one_index_and_it_is_unique(model, column):
    # On PostgreSQL a unique CharField would get a second, LIKE index (varchar_pattern_ops)
    # written on every token: a random key is never searched by prefix.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    on_column = [
        value
        for value in constraints.values()
        if value["columns"] == [column] and (value["index"] or value["unique"])
    ]
    assert len(on_column) == 1
    assert on_column[0]["unique"]


def test_a_token_key_is_still_unique():
    token = AccessTokenFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessTokenFactory(jti=token.jti, client=token.client)
    refresh = RefreshTokenFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RefreshTokenFactory(token_digest=refresh.token_digest, family=refresh.family)


@pytest.mark.parametrize("model", [AccessToken, RefreshToken])
def test_a_token_s_expiry_is_not_indexed(model):
    # One page more written with every token, for a query that runs once a night.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    assert [name for name, value in constraints.items() if "expires_at" in value["columns"]] == []


@pytest.mark.parametrize("model", [AccessToken, RefreshToken])
def test_cleanup_finds_expired_tokens_along_the_primary_key(model):
    label = {AccessToken: "expired access tokens", RefreshToken: "expired refresh tokens"}[model]
    (target,) = [target for target in cleanup.targets() if target.label == label]
    # The walk delete_in_batches makes: the next keys after the last batch's, in key order.
    keys = target.queryset.order_by("pk").filter(pk__gt=0).values_list("pk", flat=True)[:500]
    plan = _plan(keys).lower()
    if connection.vendor == "postgresql":
        assert f"{model._meta.db_table}_pkey" in plan
    else:
        assert "integer primary key" in plan and "temp b-tree" not in plan


FAMILY_LINKS = {
    "twenty_oauth_family_code_unique": "authorization_code_id",
    "twenty_oauth_family_device_unique": "device_grant_id",
}


@pytest.mark.parametrize("name", FAMILY_LINKS)
def test_a_family_s_grant_link_is_unique_where_set_and_indexed_nowhere_else(name):
    # A family comes from one grant or the other: an index of every row held a NULL for the
    # other in each.
    assert "unique" in _partial_and_alone(name, TokenFamily, FAMILY_LINKS[name])


def test_one_family_at_most_for_a_code_or_a_device_grant():
    code = AuthorizationCodeFactory()
    TokenFamilyFactory(authorization_code=code, client=code.client, user=code.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        TokenFamilyFactory(authorization_code=code, client=code.client, user=code.user)
    grant = DeviceGrantFactory(approved=True)
    TokenFamilyFactory(device_grant=grant, client=grant.client, user=grant.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        TokenFamilyFactory(device_grant=grant, client=grant.client, user=grant.user)
    # Families from neither (a refresh's, an older client-credentials token's) are many.
    TokenFamilyFactory()
    TokenFamilyFactory()


def test_a_replayed_code_finds_its_family_through_the_index():
    code = AuthorizationCodeFactory()
    TokenFamilyFactory(authorization_code=code, client=code.client, user=code.user)
    assert "twenty_oauth_family_code_unique" in _plan(TokenFamily.objects.filter(authorization_code=code))
    grant = DeviceGrantFactory(approved=True)
    assert "twenty_oauth_family_device_unique" in _plan(TokenFamily.objects.filter(device_grant=grant))
