"""
Writing what a token request issues: all of it or nothing, in one round trip on PostgreSQL.

A token request spends a code or a refresh token (a conditional UPDATE, so that one of two
concurrent redemptions wins), creates the grant's token family and records the new access and
refresh tokens. Through the ORM in a transaction that is six round trips to the database on
PostgreSQL (BEGIN, UPDATE, three INSERTs, COMMIT), each a network wait longer than the rest of
the work; together with the reads that come before, a token request took about three times as
long as on SQLite. PostgreSQL can do it all in one statement, with data-modifying ``WITH``
clauses: the UPDATE returns the row it spent, the family is inserted only from that row, the
tokens only from that family, so a lost race writes nothing. One statement is atomic by itself.

The ORM cannot express such a statement, so it is written here, once per shape and database,
from the models' own metadata: table and column names quoted by the backend, each value
prepared by its field (``get_db_prep_save``) and cast to the column's type (``db_type``). Other
databases take the ORM path in a transaction; SQLite's writes are local calls, not round trips.

Rows written here do not send ``pre_save``/``post_save``; the ORM path sends them, as ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model

from twenty_oauth.models import TokenFamily

#: The column that links a token row to its family.
FAMILY_FIELD = "family"


@dataclass(frozen=True)
class Spend:
    """
    Mark a single-use row spent, if it still is: ``used_at`` set to ``now`` where it is null,
    the fields in ``still_null`` are null and, with ``unexpired``, ``expires_at`` is later.
    """

    model: type[Model]
    pk: Any
    now: datetime
    still_null: tuple[str, ...] = ()
    unexpired: bool = False

    def filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {"pk": self.pk, "used_at__isnull": True}
        found.update({f"{name}__isnull": True for name in self.still_null})
        if self.unexpired:
            found["expires_at__gt"] = self.now
        return found


def issue(family: TokenFamily, rows: list[Model], spend: Spend | None = None) -> bool:
    """
    Spend ``spend`` (if given), save ``family`` if it is new, and insert ``rows`` (unsaved
    token records) as members of the family. False, with nothing written, when the row to spend
    was already spent; otherwise every row is saved and the new family has its primary key.
    """
    alias = router.db_for_write(TokenFamily)
    if connections[alias].vendor == "postgresql":
        return _issue_in_one_statement(alias, family, rows, spend)
    with transaction.atomic(using=alias):
        spendable = spend and spend.model._base_manager.using(alias).filter(**spend.filters())
        if spendable is not None and not spendable.update(used_at=spend.now):
            return False
        if family.pk is None:
            family.save(using=alias, force_insert=True)
        for row in rows:
            setattr(row, FAMILY_FIELD, family)
            row.save(using=alias, force_insert=True)
    return True


# The statements' text, by database alias and shape.
_statements: dict[tuple, str] = {}


def _issue_in_one_statement(alias: str, family: TokenFamily, rows: list[Model], spend: Spend | None) -> bool:
    connection = connections[alias]
    new_family = family.pk is None
    shape = (
        alias,
        spend and (spend.model, spend.still_null, spend.unexpired),
        new_family,
        tuple(type(r) for r in rows),
    )
    sql = _statements.get(shape)
    if sql is None:
        sql = _statements[shape] = _statement(connection, spend, new_family, [type(r) for r in rows])
    params: list[Any] = []
    if spend is not None:
        pk_field = spend.model._meta.pk
        params += [spend.now, pk_field.get_db_prep_value(spend.pk, connection)]
        if spend.unexpired:
            params.append(spend.now)
    if new_family:
        params += _values(connection, family, exclude=())
    for row in rows:
        params += _values(connection, row, exclude=(FAMILY_FIELD,))
        if not new_family:
            params.append(family.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return False
    if new_family:
        family.pk = found[0]
        family._state.adding = False
        family._state.db = alias
    for row in rows:
        setattr(row, FAMILY_FIELD, family)
        row._state.adding = False
        row._state.db = alias
    return True


def _inserted(model: type[Model], exclude: tuple[str, ...]) -> list:
    """The fields an INSERT writes: every concrete one but the automatic primary key."""
    return [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and field.db_returning) and field.name not in exclude
    ]


def _values(connection, row: Model, exclude: tuple[str, ...]) -> list[Any]:
    return [
        field.get_db_prep_save(getattr(row, field.attname), connection)
        for field in _inserted(type(row), exclude)
    ]


def _statement(connection, spend: Spend | None, new_family: bool, models: list[type[Model]]) -> str:
    # Only names from the models' metadata, quoted by the backend, are put in the text; every
    # value is a parameter.
    quote = connection.ops.quote_name

    def cast_values(model: type[Model], exclude: tuple[str, ...]) -> tuple[list[str], list[str]]:
        fields = _inserted(model, exclude)
        columns = [quote(field.column) for field in fields]
        values = [f"CAST(%s AS {field.db_type(connection)})" for field in fields]
        return columns, values

    clauses: list[str] = []
    source = ""  # the clause a row is inserted from: nothing is written when it is empty
    if spend is not None:
        meta = spend.model._meta
        pk, used_at = quote(meta.pk.column), quote(meta.get_field("used_at").column)
        where = [f"{pk} = %s", f"{used_at} IS NULL"]
        where += [f"{quote(meta.get_field(name).column)} IS NULL" for name in spend.still_null]
        if spend.unexpired:
            where.append(f"{quote(meta.get_field('expires_at').column)} > %s")
        clauses.append(
            f"spent AS (UPDATE {quote(meta.db_table)} SET {used_at} = %s"  # noqa: S608
            f" WHERE {' AND '.join(where)} RETURNING {pk})"
        )
        source = " FROM spent"
    family_meta = TokenFamily._meta
    family_pk = quote(family_meta.pk.column)
    if new_family:
        columns, values = cast_values(TokenFamily, ())
        clauses.append(
            f"family AS (INSERT INTO {quote(family_meta.db_table)} ({', '.join(columns)})"
            f" SELECT {', '.join(values)}{source} RETURNING {family_pk})"
        )
        source = " FROM family"
    for index, model in enumerate(models):
        meta = model._meta
        link = meta.get_field(FAMILY_FIELD)
        columns, values = cast_values(model, (FAMILY_FIELD,))
        columns.append(quote(link.column))
        values.append(f"family.{family_pk}" if new_family else f"CAST(%s AS {link.db_type(connection)})")
        clauses.append(
            f"row{index} AS (INSERT INTO {quote(meta.db_table)} ({', '.join(columns)})"
            f" SELECT {', '.join(values)}{source} RETURNING 1)"
        )
    result = f"SELECT family.{family_pk} FROM family" if new_family else "SELECT 1" + source  # noqa: S608
    return f"WITH {', '.join(clauses)} {result}"
