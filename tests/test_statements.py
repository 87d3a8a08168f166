"""
Statements compiled once and run beneath Django's cursor on SQLite (``twenty_oauth.statements``)
stay visible to whatever watches the database, and fail as Django's errors.
"""

import pytest
from django.db import connection, connections, utils
from django.test.utils import CaptureQueriesContext

from tests.conftest import code_tokens, refresh
from twenty_oauth import statements
from twenty_oauth.models import AccessToken, RefreshToken

pytestmark = pytest.mark.django_db


def test_an_execute_wrapper_sees_the_bearer_check_and_the_token_writes(client, user, confidential):
    oauth_client, secret = confidential
    seen: list[str] = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        body = code_tokens(client, user, oauth_client, secret)
        response = client.get("/rest/constant", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
        refreshed = refresh(client, oauth_client, secret, body["refresh_token"])
    assert response.status_code == 200
    assert refreshed.status_code == 200, refreshed.json()
    access_table = AccessToken._meta.db_table
    refresh_table = RefreshToken._meta.db_table
    assert any(sql.startswith("SELECT") and f'FROM "{access_table}"' in sql for sql in seen)
    # The exchange and the refresh each wrote an access token and a refresh token (on
    # PostgreSQL in one statement each, on SQLite in one statement a row).
    assert sum(f'INSERT INTO "{access_table}"' in sql for sql in seen) == 2
    assert sum(f'INSERT INTO "{refresh_table}"' in sql for sql in seen) == 2
    assert any(f'UPDATE "{refresh_table}"' in sql for sql in seen)


def test_captured_queries_hold_the_bearer_check(client, user, confidential):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/rest/constant", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert len(queries) == 1
    assert AccessToken._meta.db_table in queries[0]["sql"]
    assert "%s" not in queries[0]["sql"]  # logged with its value, as Django logs any query


def test_a_database_error_is_django_s(db):
    sql = 'SELECT "missing" FROM "no_such_table" WHERE "id" = %s'
    with pytest.raises(utils.DatabaseError):
        statements.fetchone(connection, sql, [1])
    with pytest.raises(utils.DatabaseError):
        statements.write(connection, 'UPDATE "no_such_table" SET "id" = %s', [1])


def test_placeholders_and_percent_signs_are_converted_as_django_converts_them(db):
    sql = "SELECT %s, '100%%', %s"
    assert statements.fetchone(connection, sql, ["a", "b"]) == ("a", "100%", "b")


def test_a_statement_compiled_once_is_converted_once_on_sqlite_only(client, user, confidential, monkeypatch):
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    monkeypatch.setattr(statements, "_converted", {})
    for _ in range(3):
        assert client.get("/rest/constant", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    access_table = AccessToken._meta.db_table
    converted = {sql: text for sql, text in statements._converted.items() if f'FROM "{access_table}"' in sql}
    if connection.vendor == "sqlite":
        # Unwatched, the bearer check's SELECT ran beneath Django's cursor, converted once.
        ((sql, text),) = converted.items()
        assert sql.count("%s") == text.count("?") >= 1 and "%s" not in text
    else:
        assert converted == {}  # PostgreSQL takes %s as it is: Django's cursor runs it


def test_a_backend_that_makes_its_own_cursors_gets_them(client, user, confidential, monkeypatch):
    # A tracing tool may replace how cursors are made: the statements then go through its cursors.
    oauth_client, secret = confidential
    token = code_tokens(client, user, oauth_client, secret)["access_token"]
    real = connections["default"]
    made = []

    def create_cursor(name=None):
        made.append(name)
        return type(real).create_cursor(real, name)

    monkeypatch.setattr(real, "create_cursor", create_cursor)
    response = client.get("/rest/constant", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert made  # the bearer check's SELECT went through the backend's own cursor
