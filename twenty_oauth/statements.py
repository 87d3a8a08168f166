"""
Running the statements that :mod:`twenty_oauth.lookups` and :mod:`twenty_oauth.writes` compiled
once.

Django's SQLite cursor turns a statement's ``%s`` placeholders into SQLite's ``?`` with a
regular expression on every call: 20–25 µs for the bearer check's 2,300-character SELECT, about
as long as SQLite takes to run it (measured in-process on ``make bench``'s database). Making
the cursor and reading the row through its wrapper cost about as much again: 23 µs of the 75 µs
that lookup took with the whole client row. A statement that never changes
is converted once here, by Django's own ``convert_query``, and run on the DB-API connection
beneath Django's, inside Django's translation of database errors.

Whenever Django watches queries (``DEBUG``, ``CaptureQueriesContext`` and ``assertNumQueries``,
an ``execute_wrapper`` such as an APM agent installs), the statement goes through Django's
cursor like any other and is logged, counted and wrapped. Other databases take ``%s`` as it
is: their statements always go through Django's cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

try:
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper
except ImportError:  # a Python built without sqlite3: no statement runs on SQLite then
    SQLiteWrapper = SQLiteCursorWrapper = None

#: Statements in SQLite's placeholder style, by their text in Django's: one entry per statement
#: that lookups and writes compiled, so a few dozen at most.
_converted: dict[str, str] = {}


def fetchone(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> tuple | None:
    """The first row ``sql`` (placeholders ``%s``) selects with ``params``, or None."""
    if _beneath(connection):
        with connection.wrap_database_errors:
            return connection.connection.execute(_sqlite(sql), params).fetchone()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def write(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> tuple[int, Any]:
    """Run the INSERT or UPDATE ``sql`` with ``params``: the rows it changed and the last row id."""
    if _beneath(connection):
        with connection.wrap_database_errors:
            cursor = connection.connection.execute(_sqlite(sql), params)
            return cursor.rowcount, cursor.lastrowid
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount, getattr(cursor, "lastrowid", None)


def _beneath(connection: BaseDatabaseWrapper) -> bool:
    """
    Whether to run on the DB-API connection of ``connection``, beneath Django's cursor: on
    Django's own SQLite backend (a backend that makes cursors of its own, to trace them say,
    gets its cursor), when nothing watches queries. It does what Django's cursor would first:
    it connects if need be, and refuses to run in a transaction that must be rolled back.
    """
    if (
        SQLiteWrapper is None
        or connection.vendor != "sqlite"
        or getattr(connection.create_cursor, "__func__", None) is not SQLiteWrapper.create_cursor
        or connection.queries_logged  # DEBUG, CaptureQueriesContext: the query is logged
        or connection.execute_wrappers
    ):
        return False
    connection.validate_thread_sharing()
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    return True


def _sqlite(sql: str) -> str:
    converted = _converted.get(sql)
    if converted is None:
        # Django's own conversion; it reads nothing of the cursor it is a method of.
        converted = _converted[sql] = SQLiteCursorWrapper.convert_query(None, sql)
    return converted
