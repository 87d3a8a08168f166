"""
Secrets never reach Django's error reports. When a request fails with a 500, Django logs it to
``django.request`` with the request and the traceback; the admins' email and the debug page are
built from that record by ``ExceptionReporter``, with the POST values and every frame's local
variables. The endpoints that carry secrets, codes and tokens have both filtered.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client as HttpClient
from django.views.debug import ExceptionReporter

from tests.conftest import code_request, form, obtain_code, pkce_pair, refresh_request, token_request
from twenty_oauth.protocol import tokens, verification

pytestmark = pytest.mark.django_db


class Failure(RuntimeError):
    """What the database or a hook might raise halfway through a request."""


def error_reports(caplog) -> list[str]:
    """The text and HTML reports Django would mail for each request logged as a 500."""
    reports = []
    for record in caplog.records:
        if record.name == "django.request" and record.exc_info and getattr(record, "status_code", 0) == 500:
            reporter = ExceptionReporter(record.request, *record.exc_info)
            reports += [reporter.get_traceback_text(), reporter.get_traceback_html()]
    return reports


def assert_reported_without(caplog, *secrets: str) -> None:
    reports = error_reports(caplog)
    assert reports, "no 500 was logged"
    for report in reports:
        assert Failure.__name__ in report  # the report is there, with its traceback
        for secret in secrets:
            assert secret not in report


def fail(*args, **kwargs):
    raise Failure("the request failed halfway")


@pytest.fixture
def http():
    return HttpClient(raise_request_exception=False)


def issued(http, user, confidential) -> dict:
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(http, user, oauth_client, challenge=challenge)
    return token_request(http, code_request(oauth_client, code, verifier, secret)).json()


def test_code_exchange_failure_reports_neither_secret_code_nor_verifier(
    http, user, confidential, monkeypatch, caplog
):
    oauth_client, secret = confidential
    verifier, challenge = pkce_pair()
    code = obtain_code(http, user, oauth_client, challenge=challenge)
    # Issuance fails after the grant was checked, with every parameter still in scope.
    monkeypatch.setattr(tokens, "access_token", fail)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = token_request(http, code_request(oauth_client, code, verifier, secret))
    assert response.status_code == 500
    assert_reported_without(caplog, secret, code, verifier)


def test_refresh_failure_reports_neither_secret_nor_refresh_token(
    http, user, confidential, monkeypatch, caplog
):
    oauth_client, secret = confidential
    body = issued(http, user, confidential)
    monkeypatch.setattr(tokens, "access_token", fail)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = token_request(http, refresh_request(oauth_client, body["refresh_token"], secret))
    assert response.status_code == 500
    assert_reported_without(caplog, secret, body["refresh_token"])


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
def test_revocation_and_introspection_failures_report_no_token(
    http, user, confidential, monkeypatch, caplog, path
):
    oauth_client, secret = confidential
    body = issued(http, user, confidential)
    # Revocation reads the caller's own token, introspection any client's.
    monkeypatch.setattr(tokens, "find_refresh_token", fail)
    monkeypatch.setattr(tokens, "find_own_refresh_token", fail)
    data = {"token": body["refresh_token"], "client_id": oauth_client.client_id, "client_secret": secret}
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = http.post(path, form(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 500
    assert_reported_without(caplog, secret, body["refresh_token"])


@pytest.mark.parametrize("path", ["/oauth/userinfo", "/rest/companies"])
def test_bearer_check_failure_reports_no_access_token(http, user, confidential, monkeypatch, caplog, path):
    access_token = issued(http, user, confidential)["access_token"]
    http.logout()
    # Fails after the signature check, while the token is held by every frame above.
    monkeypatch.setattr(verification._access_record, "get", fail)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = http.get(path, HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 500
    assert_reported_without(caplog, access_token)
