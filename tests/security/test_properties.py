"""
Properties, checked by Hypothesis over generated input: the parsers and matchers agree with an
independent statement of their RFC rule (redirect URIs, Basic credentials, scopes, PKCE), and
no generated request makes an endpoint answer 500 or redirect to a URI that was not validated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from django.utils.encoding import iri_to_uri
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import REDIRECT, code_tokens, pkce_pair
from tests.factories import make_client, make_key_client
from twenty_oauth.errors import InvalidGrant, InvalidRedirectURI, InvalidRequest, InvalidScope
from twenty_oauth.protocol import pkce, redirect_uris, scopes
from twenty_oauth.protocol.client_auth import parse_basic

PURE = settings(max_examples=300, deadline=None, database=None)
HTTP = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Every error code an endpoint may answer with (RFC 6749 §5.2, RFC 7009, RFC 7591, RFC 6585).
RFC_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "unsupported_token_type",
    "invalid_client_metadata",
    "invalid_redirect_uri",
    "invalid_token",
    "too_many_requests",
}
#: RFC 6749 §5.2 and §4.1.2.1: the characters an ``error_description`` may hold.
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "localhost")
UNRESERVED = string.ascii_letters + string.digits + "-._~"

text = st.text(st.characters(codec="utf-8"), max_size=40)
hosts = st.sampled_from(
    ["app.example.com", "127.0.0.1", "[::1]", "localhost", "10.0.0.1", "bücher.example", "", "a:b@c", "x*"]
)
ports = st.one_of(st.just(""), st.integers(0, 70000).map(lambda p: f":{p}"), st.just(":x"))
paths = st.one_of(st.sampled_from(["", "/", "/cb", "/cb?x=1", "/cb#f", "/a b", "/%2e%2e/"]), text)
schemes = st.sampled_from(
    ["https", "http", "HTTP", "com.example.app", "javascript", "data", "file", "1x", ""]
)
candidate_uris = st.one_of(
    st.builds(lambda s, h, p, q: f"{s}://{h}{p}{q}", schemes, hosts, ports, paths),
    st.builds(lambda s, p: f"{s}:{p}", schemes, paths),
    text,
)


def valid(uri: str) -> bool:
    try:
        return redirect_uris.validate(uri) == uri
    except InvalidRedirectURI:
        return False


# Redirect URIs -------------------------------------------------------------------------------


@PURE
@given(candidate_uris)
def test_property_rfc9700_4_1_3_only_safe_redirect_uris_are_accepted(uri):
    try:
        result = redirect_uris.validate(uri)
    except InvalidRedirectURI:
        return
    assert result == uri  # never normalised
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    assert "#" not in uri and "*" not in uri
    assert not any(c.isspace() or ord(c) < 0x21 for c in uri)
    assert scheme and scheme not in {"javascript", "data", "vbscript", "file"}
    assert parts.username is None and parts.password is None
    if scheme == "http":
        assert parts.hostname in {"127.0.0.1", "::1", "localhost"}
    if scheme == "https":
        assert parts.hostname


def loopback_without_port(uri: str) -> str | None:
    """RFC 8252 §7.3's rule, stated on its own: the URI as written minus a valid port."""
    if not uri.startswith("http://"):
        return None
    rest = uri[len("http://") :]
    end = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0], default=len(rest))
    authority, tail = rest[:end], rest[end:]
    for host in LOOPBACK_HOSTS:
        if authority == host:
            return "http://" + host + tail
        if authority.startswith(host + ":"):
            port = authority[len(host) + 1 :]
            if re.fullmatch(r"[0-9]{1,5}", port) and 0 < int(port) <= 65535:
                return "http://" + host + tail
    return None


safe_paths = st.one_of(
    st.sampled_from(["", "/", "/cb", "/cb?x=1", "/a/b/", "/cb?"]),
    st.text(st.sampled_from(string.ascii_letters + string.digits + "/?=&%.-_~"), max_size=20).map(
        lambda p: "/" + p
    ),
)
registrable_uris = st.one_of(
    st.builds(
        lambda h, p, path: f"http://{h}{p}{path}",
        st.sampled_from(LOOPBACK_HOSTS),
        st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")),
        safe_paths,
    ),
    st.builds(
        lambda h, path: f"https://{h}{path}",
        st.sampled_from(["app.example.com", "bücher.example", "a.b"]),
        safe_paths,
    ),
    st.builds(lambda path: f"com.example.app:{path}", safe_paths),
)


@st.composite
def registered_and_requested(draw):
    registered = draw(registrable_uris)
    assume(valid(registered))
    mutation = draw(st.sampled_from(["same", "port", "case", "insert", "delete", "other"]))
    requested = registered
    if mutation == "port":
        for host in LOOPBACK_HOSTS:
            if registered.startswith(f"http://{host}"):
                rest = registered[len(f"http://{host}") :]
                rest = re.sub(r"^:[0-9]*", "", rest)
                requested = f"http://{host}{draw(ports)}{rest}"
    elif mutation == "case" and registered:
        i = draw(st.integers(0, len(registered) - 1))
        requested = registered[:i] + registered[i].swapcase() + registered[i + 1 :]
    elif mutation == "insert":
        i = draw(st.integers(0, len(registered)))
        requested = (
            registered[:i] + draw(st.sampled_from(["/", "?", "#", ":1", "a", "%", "@", "."])) + registered[i:]
        )
    elif mutation == "delete" and registered:
        i = draw(st.integers(0, len(registered) - 1))
        requested = registered[:i] + registered[i + 1 :]
    elif mutation == "other":
        requested = draw(candidate_uris)
    return registered, requested


@PURE
@given(registered_and_requested())
def test_property_rfc9700_4_1_3_matching_is_exact_but_for_a_loopback_port(pair):
    registered, requested = pair
    expected = requested == registered or (
        loopback_without_port(registered) is not None
        and loopback_without_port(registered) == loopback_without_port(requested)
    )
    assert redirect_uris.matches(registered, requested) == expected


# Basic credentials ---------------------------------------------------------------------------

credential = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=60)


@PURE
@given(credential, st.one_of(st.just(""), credential))
def test_property_rfc6749_2_3_1_basic_credentials_round_trip(client_id, secret):
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    assert parse_basic("Basic " + base64.b64encode(raw).decode()) == (client_id, secret)


@PURE
@given(
    st.one_of(
        text.map(lambda t: "Basic " + t),
        st.binary(max_size=80).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    )
)
def test_property_rfc6749_2_3_1_malformed_basic_is_only_ever_invalid_request(header):
    try:
        client_id, secret = parse_basic(header)
    except InvalidRequest:
        return
    assert client_id and "\x00" not in client_id + secret


# Scopes -------------------------------------------------------------------------------------

SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


@PURE
@given(
    st.one_of(text, st.lists(st.sampled_from(["api", "profile", "a\\b", 'q"', "é", "", " "])).map(" ".join))
)
def test_property_rfc6749_3_3_scope_is_space_delimited_scope_tokens(value):
    tokens = [t for t in value.split(" ") if t]
    if all(SCOPE_TOKEN.fullmatch(t) for t in tokens):
        assert scopes.parse(value) == list(dict.fromkeys(tokens))
    else:
        with pytest.raises(InvalidScope):
            scopes.parse(value)


# PKCE ---------------------------------------------------------------------------------------

verifiers = st.text(st.sampled_from(UNRESERVED), min_size=43, max_size=128)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@PURE
@given(verifiers, verifiers)
def test_property_rfc7636_4_6_only_the_matching_verifier_passes(verifier, other):
    challenge = s256(verifier)
    pkce.validate_challenge(challenge, "S256")
    pkce.verify(verifier, challenge)
    if other != verifier:
        with pytest.raises(InvalidGrant):
            pkce.verify(other, challenge)


@PURE
@given(
    st.one_of(text, verifiers, st.text(max_size=200)),
    st.one_of(st.none(), st.sampled_from(["S256", "plain", "s256"]), text),
)
def test_property_rfc7636_4_malformed_pkce_values_are_oauth_errors(value, method):
    try:
        pkce.validate_challenge(value, method)
    except InvalidRequest:
        pass
    else:
        assert method == "S256" and re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    _, challenge = pkce_pair()
    with pytest.raises((InvalidRequest, InvalidGrant)):
        pkce.verify(value, challenge)


# HTTP endpoints -----------------------------------------------------------------------------


def assert_rfc_answer(response, *ok: int) -> None:
    """Not a 500: either a success listed in ``ok`` or an RFC error as JSON."""
    if response.status_code in ok:
        return
    assert response.status_code in (400, 401, 403, 405, 413, 429), (
        response.status_code,
        response.content[:300],
    )
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["error"] in RFC_ERRORS
    assert DESCRIPTION.fullmatch(body.get("error_description", "")), body


@pytest.fixture
def pools(client, user, db):
    """Real identifiers and secrets, so that generated requests also reach the deeper checks."""
    confidential, secret = make_client()
    public, _ = make_client(token_endpoint_auth_method="none", client_name="Public")
    signer, key = make_key_client(grant_types=["client_credentials"], redirect_uris=[])
    issued = code_tokens(client, user, confidential, secret)
    client.logout()
    return {
        "client_id": [confidential.client_id, public.client_id, signer.client_id, "nobody"],
        "client_secret": [secret, "wrong"],
        "client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "x"],
        "client_assertion": [
            *(key.assertion(signer.client_id) for _ in range(3)),
            key.assertion(signer.client_id, exp="soon", jti=[1]),
            "e30.e30.",
            "x",
        ],
        "token": [issued["refresh_token"], issued["access_token"], "x"],
        "refresh_token": [issued["refresh_token"], "x"],
        "grant_type": ["authorization_code", "refresh_token", "client_credentials", "password", "implicit"],
        "redirect_uri": [REDIRECT, "https://evil.example/cb"],
        "code_verifier": [pkce_pair()[0], "short"],
        "scope": ["api", "api profile", "admin", ""],
    }


@st.composite
def form_requests(draw, pools):
    names = draw(
        st.lists(st.sampled_from([*pools, "code", "resource", "token_type_hint"]) | text, max_size=8)
    )
    params = []
    for name in names:
        value = draw(st.sampled_from(pools[name]) | text) if name in pools else draw(text)
        params.append((name, value))
    content_type = draw(
        st.sampled_from(
            ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"]
        )
        | st.sampled_from(["application/json", "text/plain", ""])
    )
    body = draw(st.one_of(st.just(urlencode(params).encode()), st.binary(max_size=200)))
    return content_type, body


@HTTP
@given(data=st.data())
def test_property_rfc6749_5_2_form_endpoints_never_answer_500(client, pools, data):
    path = data.draw(st.sampled_from(["/oauth/token", "/oauth/revoke", "/oauth/introspect"]))
    content_type, body = data.draw(form_requests(pools))
    headers = {}
    if data.draw(st.booleans()):
        headers["HTTP_AUTHORIZATION"] = data.draw(
            st.sampled_from(["Basic ", "Bearer x", "Basic " + base64.b64encode(b"a:b").decode()]) | text
        )
    response = client.generic("POST", path, body, content_type=content_type, **headers)
    assert_rfc_answer(response, 200)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
metadata_fields = st.fixed_dictionaries(
    {},
    optional={
        "redirect_uris": st.lists(candidate_uris, max_size=3) | json_values,
        "grant_types": st.lists(st.sampled_from(["authorization_code", "client_credentials", "x"]))
        | json_values,
        "response_types": st.lists(st.sampled_from(["code", "token"])) | json_values,
        "token_endpoint_auth_method": st.sampled_from(["none", "client_secret_post", "private_key_jwt"])
        | json_values,
        "client_name": json_values,
        "logo_uri": candidate_uris | json_values,
        "client_uri": candidate_uris,
        "scope": st.sampled_from(["api", "api profile", "admin"]) | json_values,
        "contacts": st.lists(text, max_size=3) | json_values,
        "jwks": st.fixed_dictionaries({"keys": st.lists(json_values, max_size=3)}) | json_values,
        "jwks_uri": candidate_uris | json_values,
        "token_endpoint_auth_signing_alg": st.sampled_from(["ES256", "HS256", "none"]) | json_values,
    },
)


@HTTP
@given(metadata=metadata_fields | json_values)
def test_property_rfc7591_3_2_2_registration_never_answers_500_keeps_valid_uris(client, db, metadata):
    response = client.post("/oauth/register", json.dumps(metadata), content_type="application/json")
    assert_rfc_answer(response, 201)
    if response.status_code == 201:
        assert all(valid(uri) for uri in response.json()["redirect_uris"])


@HTTP
@given(data=st.data())
def test_property_rfc9700_4_11_2_authorization_redirects_only_to_validated_uris(client, user, pools, data):
    from twenty_oauth.models import Client

    client.force_login(user)
    _, challenge = pkce_pair()
    candidates = {
        "client_id": st.sampled_from(pools["client_id"]) | text,
        "redirect_uri": st.sampled_from(
            [REDIRECT, REDIRECT + "/", "https://evil.example/cb", "http://127.0.0.1:9/cb"]
        )
        | candidate_uris,
        "response_type": st.sampled_from(["code", "token", "code id_token"]) | text,
        "scope": st.sampled_from(pools["scope"]) | text,
        "state": text,
        "code_challenge": st.sampled_from([challenge, "x"]) | text,
        "code_challenge_method": st.sampled_from(["S256", "plain"]) | text,
        "resource": st.sampled_from(["http://testserver/rest", "https://evil.example/"]) | text,
    }
    params = data.draw(st.fixed_dictionaries({}, optional=candidates))
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code != 302:
        assert "Location" not in response
        return
    location = response["Location"]
    oauth_client = Client.objects.get(client_id=params["client_id"])
    target = params.get("redirect_uri") or oauth_client.redirect_uris[0]
    assert any(redirect_uris.matches(uri, target) for uri in oauth_client.redirect_uris)
    assert location.startswith(iri_to_uri(target) + ("&" if "?" in target else "?"))
    assert "iss=" in location
    answered = dict(parse_qsl(urlsplit(location).query))
    assert DESCRIPTION.fullmatch(answered.get("error_description", "")), answered
