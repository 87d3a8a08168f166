"""
Running the statements that :mod:`twenty_oauth.lookups` and :mod:`twenty_oauth.writes` compiled
once.

Django's SQLite cursor turns a statement's ``%s`` placeholders into SQLite's ``?`` with a
regular expression on every call: 20–25 µs for the bearer check's 2,300-character SELECT, about
as long as SQLite takes to run it (measured in-process on ``make bench``'s database). A
statement that never changes is converted once here, by Django's own ``convert_query``, and run
on the DB-API cursor beneath Django's, inside Django's translation of database errors.

Whenever Django watches queries (``DEBUG``, ``CaptureQueriesContext`` and ``assertNumQueries``,
an ``execute_wrapper`` such as an APM agent installs), the statement goes through Django's
cursor like any other and is logged, counted and wrapped. Other databases take ``%s`` as it
is: their statements always go through Django's cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

try:
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper
except ImportError:  # a Python built without sqlite3: no statement runs on SQLite then
    SQLiteCursorWrapper = None

#: Statements in SQLite's placeholder style, by their text in Django's: one entry per statement
#: that lookups and writes compiled, so a few dozen at most.
_converted: dict[str, str] = {}


def execute(connection: BaseDatabaseWrapper, cursor: CursorWrapper, sql: str, params: Sequence[Any]) -> None:
    """Run ``sql`` (placeholders ``%s``) with ``params`` on ``cursor``, a cursor of ``connection``."""
    raw = cursor.cursor
    if (
        SQLiteCursorWrapper is None
        or not isinstance(raw, SQLiteCursorWrapper)  # another database, or a backend of its own
        or type(cursor) is not CursorWrapper  # Django's debug cursor: the query is logged
        or connection.execute_wrappers
    ):
        cursor.execute(sql, params)
        return
    converted = _converted.get(sql)
    if converted is None:
        converted = _converted[sql] = raw.convert_query(sql)
    with connection.wrap_database_errors:
        # sqlite3.Cursor.execute itself, beneath the wrapper's conversion.
        super(SQLiteCursorWrapper, raw).execute(converted, params)
