"""
Writing what a token request issues: all of it or nothing, with SQL compiled once.

A token request spends a code, a device code or a refresh token (a conditional UPDATE, so that
one of two concurrent redemptions wins), creates the grant's token family (a client-credentials
token, a grant by itself, has none) and records the new access and refresh tokens. Through the
ORM that costs twice over:

- **On PostgreSQL, round trips.** In a transaction it is six (BEGIN, UPDATE, three INSERTs,
  COMMIT), each a network wait longer than the rest of the work. PostgreSQL does it all in one
  statement with data-modifying ``WITH`` clauses: the UPDATE returns the row it spent, the
  family is inserted only from that row, the tokens only from that family, so a lost race writes
  nothing; one statement is atomic by itself. With the reads before it, a token request makes
  2 or 3 round trips instead of 5 to 8.
- **On SQLite, compiling.** The statements are local calls, but ``Model.save`` compiles each
  INSERT anew: about 0.1 ms of the 0.2 ms an INSERT costs through the ORM here, for two or three
  of them per request. The same statements are run here from their text, in a transaction
  (a lone INSERT needs none), through :mod:`twenty_oauth.statements`, which also spares them
  Django's cursor and its per-call placeholder rewrite.

The ORM cannot express the first and is slower for the second, so the SQL is written here, once
per shape and database, from the models' own metadata: table and column names quoted by the
backend, each value prepared by its field (``get_db_prep_save``; on PostgreSQL also cast to the
column's ``db_type``, as values selected into an INSERT have no type of their own). Other
databases take the ORM path in a transaction.

The tokens come as :class:`Row` values rather than model instances: nothing reads them back,
and ``Model.__init__`` alone cost 25 µs a row, as much as its INSERT (``make bench``'s machine).
Rows written here send no ``pre_save``/``post_save``: :data:`twenty_oauth.signals.tokens_issued`
is the signal to listen to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model

from twenty_oauth import statements
from twenty_oauth.models import TokenFamily

#: The foreign key that links a token row to its family.
FAMILY_FIELD = "family"


@dataclass(frozen=True)
class Row:
    """
    A token row to insert: ``model`` and its fields' values by ``attname`` (``client_id``, not
    ``client``). A field not named takes its default; the family's key is set here.
    """

    model: type[Model]
    values: dict[str, Any]

    def instance(self) -> Model:
        return self.model(**self.values)


@dataclass(frozen=True)
class Spend:
    """
    Mark a single-use row spent, if it still is: ``used_at`` set to ``now`` where it is null,
    the fields in ``still_null`` are null, those in ``still_set`` are not (a device grant's
    ``approved_at``: only an approved grant is redeemed) and, with ``unexpired``, ``expires_at``
    is later.
    """

    model: type[Model]
    pk: Any
    now: datetime
    still_null: tuple[str, ...] = ()
    unexpired: bool = False
    still_set: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple:
        return (self.model, self.still_null, self.unexpired, self.still_set)

    def filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {"pk": self.pk, "used_at__isnull": True}
        found.update({f"{name}__isnull": True for name in self.still_null})
        found.update({f"{name}__isnull": False for name in self.still_set})
        if self.unexpired:
            found["expires_at__gt"] = self.now
        return found


def issue(family: TokenFamily | Row | None, rows: list[Row], spend: Spend | None = None) -> bool:
    """
    Spend ``spend`` (if given), insert ``family`` if it is a new one (a :class:`Row`), and insert
    ``rows`` (token rows) as members of the family, or of none when ``family`` is None (a
    client-credentials token, a grant by itself). False, with nothing written, when the row to
    spend was already spent; otherwise every row is saved.
    """
    alias = router.db_for_write(TokenFamily)
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        return _in_one_statement(alias, family, rows, spend)
    if vendor == "sqlite":
        return _in_statements(alias, family, rows, spend)
    return _through_the_orm(alias, family, rows, spend)


def _is_new(family: TokenFamily | Row | None) -> bool:
    return isinstance(family, Row)


def _key(family: TokenFamily | None) -> Any:
    """The key of an existing family, or None."""
    return family.pk if family is not None else None


def _through_the_orm(
    alias: str, family: TokenFamily | Row | None, rows: list[Row], spend: Spend | None
) -> bool:
    with transaction.atomic(using=alias):
        spendable = spend and spend.model._base_manager.using(alias).filter(**spend.filters())
        if spendable is not None and not spendable.update(used_at=spend.now):
            return False
        if _is_new(family):
            family = family.instance()
            family.save(using=alias, force_insert=True)
        for row in rows:
            instance = row.instance()
            setattr(instance, FAMILY_FIELD, family)
            instance.save(using=alias, force_insert=True)
    return True


def _in_statements(
    alias: str, family: TokenFamily | Row | None, rows: list[Row], spend: Spend | None
) -> bool:
    connection = connections[alias]
    new_family = _is_new(family)
    sql = _statements(connection, alias, spend, new_family, rows)
    prepare = _Preparer(connection)
    if spend is None and not new_family and len(rows) == 1:
        # One INSERT (a client-credentials token) is atomic by itself: a transaction around it
        # would add a BEGIN and Django's bookkeeping: about 20 µs, a quarter of what it costs.
        statements.write(connection, sql.rows[0], [*prepare.row(rows[0]), _key(family)])
        return True
    with transaction.atomic(using=alias):
        if spend is not None:
            spent, _ = statements.write(connection, sql.spend, prepare.spend(spend))
            if spent != 1:
                return False
        if new_family:
            _, key = statements.write(connection, sql.family, prepare.row(family))
        else:
            key = _key(family)
        for row, statement in zip(rows, sql.rows, strict=True):
            statements.write(connection, statement, [*prepare.row(row), key])
    return True


def _in_one_statement(
    alias: str, family: TokenFamily | Row | None, rows: list[Row], spend: Spend | None
) -> bool:
    connection = connections[alias]
    new_family = _is_new(family)
    sql = _statements(connection, alias, spend, new_family, rows)
    prepare = _Preparer(connection)
    params: list[Any] = prepare.spend(spend) if spend is not None else []
    if new_family:
        params += prepare.row(family)
    for row in rows:
        params += prepare.row(row)
        if not new_family:
            params.append(_key(family))
    with connection.cursor() as cursor:
        cursor.execute(sql.together, params)
        found = cursor.fetchone()
    return found is not None


@dataclass(frozen=True)
class _SQL:
    spend: str  # UPDATE … WHERE still unspent: the row count says whether it was
    family: str  # INSERT of a new family
    rows: list[str]  # INSERT of each token, its family's key the last value
    together: str  # PostgreSQL: all of it in one statement, returning the family's key or 1


_compiled: dict[tuple, _SQL] = {}


def _statements(connection, alias: str, spend: Spend | None, new_family: bool, rows: list[Row]) -> _SQL:
    shape = (alias, spend and spend.shape, new_family, tuple(row.model for row in rows))
    sql = _compiled.get(shape)
    if sql is None:
        sql = _compiled[shape] = _compile(connection, spend, new_family, [row.model for row in rows])
    return sql


@cache
def _inserted(model: type[Model]) -> tuple:
    """The fields an INSERT writes here: every concrete one but the automatic key and the family."""
    return tuple(
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and field.db_returning) and field.name != FAMILY_FIELD
    )


_UNSET = object()


class _Preparer:
    """
    The values of one write, each prepared by its field (``get_db_prep_save``). A token request
    puts the same ``now`` into each of its rows (the spend's ``used_at``, the family's and the
    tokens' ``created_at``), and a datetime is the dearest value to prepare (7 µs on SQLite,
    where it becomes text): the same datetime object is prepared once for each field class.
    """

    def __init__(self, connection) -> None:
        self.connection = connection
        self._datetimes: dict[tuple[int, type], tuple[datetime, Any]] = {}

    def value(self, field, value: Any) -> Any:
        if not isinstance(value, datetime):
            return field.get_db_prep_save(value, self.connection)
        key = (id(value), type(field))  # the value is kept below, so its id is not reused
        found = self._datetimes.get(key)
        if found is None:
            found = self._datetimes[key] = (value, field.get_db_prep_save(value, self.connection))
        return found[1]

    def row(self, row: Row) -> list[Any]:
        """A row's values as its INSERT takes them; a field not given takes its default."""
        values = row.values
        prepared = []
        for field in _inserted(row.model):
            value = values.get(field.attname, _UNSET)
            prepared.append(self.value(field, field.get_default() if value is _UNSET else value))
        return prepared

    def spend(self, spend: Spend) -> list[Any]:
        meta = spend.model._meta
        now = self.value(meta.get_field("used_at"), spend.now)
        values = [now, meta.pk.get_db_prep_value(spend.pk, self.connection)]
        return [*values, now] if spend.unexpired else values


def _compile(connection, spend: Spend | None, new_family: bool, models: list[type[Model]]) -> _SQL:
    # Only names from the models' metadata, quoted by the backend, are put in the text; every
    # value is a parameter.
    quote = connection.ops.quote_name
    typed = connection.vendor == "postgresql"

    def placeholder(field) -> str:
        return f"CAST(%s AS {field.db_type(connection)})" if typed else "%s"

    def insert(model: type[Model], source: str | None, family_key: str | None) -> str:
        """INSERT of a row, from VALUES, or with ``source`` from a SELECT of that clause's rows."""
        fields = _inserted(model)
        columns = [quote(field.column) for field in fields]
        values = [placeholder(field) for field in fields]
        if family_key is not None:
            columns.append(quote(model._meta.get_field(FAMILY_FIELD).column))
            values.append(family_key)
        into = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"
        if source is None:
            return f"{into} VALUES ({', '.join(values)})"
        return f"{into} SELECT {', '.join(values)}{source}"

    spent = ""
    if spend is not None:
        meta = spend.model._meta
        used_at = quote(meta.get_field("used_at").column)
        where = [f"{quote(meta.pk.column)} = %s", f"{used_at} IS NULL"]
        where += [f"{quote(meta.get_field(name).column)} IS NULL" for name in spend.still_null]
        where += [f"{quote(meta.get_field(name).column)} IS NOT NULL" for name in spend.still_set]
        if spend.unexpired:
            where.append(f"{quote(meta.get_field('expires_at').column)} > %s")
        spent = f"UPDATE {quote(meta.db_table)} SET {used_at} = %s WHERE {' AND '.join(where)}"  # noqa: S608
    family_pk = quote(TokenFamily._meta.pk.column)
    family_link = TokenFamily._meta.pk.rel_db_type(connection)
    link = f"CAST(%s AS {family_link})" if typed else "%s"

    # PostgreSQL: each clause writes only from the rows of the one before it.
    clauses = []
    source = ""
    if spend is not None:
        clauses.append(f"spent AS ({spent} RETURNING {quote(spend.model._meta.pk.column)})")
        source = " FROM spent"
    if new_family:
        clauses.append(f"family AS ({insert(TokenFamily, source, None)} RETURNING {family_pk})")
        source = " FROM family"
    for index, model in enumerate(models):
        key = f"family.{family_pk}" if new_family else link
        clauses.append(f"row{index} AS ({insert(model, source, key)} RETURNING 1)")
    result = f"SELECT family.{family_pk} FROM family" if new_family else f"SELECT 1{source}"  # noqa: S608

    return _SQL(
        spend=spent,
        family=insert(TokenFamily, None, None),
        rows=[insert(model, None, link) for model in models],
        together=f"WITH {', '.join(clauses)} {result}" if typed else "",
    )
