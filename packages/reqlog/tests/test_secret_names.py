"""Real-world names of secret query parameters and headers are redacted, by their parts;
names that merely look alike are not."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask, redirect

from flask_plug.reqlog import REDACTED, RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.wrappers import Response

SECRET = "hunter2"

# Query parameters that carry a secret, and where they come from.
SECRET_PARAMS = [
    # OAuth 2.0 (RFC 6749, 7636 PKCE, 7523 JWT assertions, 8628 device flow)
    "code",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "assertion",
    "client_assertion",
    "device_code",
    # OAuth 1.0a
    "oauth_token",
    "oauth_signature",
    "oauth_verifier",
    "oauth_consumer_key",
    # AWS SigV4 and SigV2 presigned URLs, CloudFront signed URLs
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Key-Pair-Id",
    # Azure SAS, Google Cloud Storage signed URLs, Google API keys
    "sig",
    "X-Goog-Signature",
    "X-Goog-Credential",
    "key",
    # Stripe client secrets in return URLs, Slack and GitHub tokens, Shopify, CAS
    "payment_intent_client_secret",
    "setup_intent_client_secret",
    "token",
    "hmac",
    "ticket",
    # JWTs and API keys
    "jwt",
    "api_key",
    "apiKey",
    "apikey",
    "api-key",
    "X-Access-Key",
    "accessKey",
    "private_key",
    # Passwords, one-time codes, PINs, card codes
    "password",
    "passwd",
    "pwd",
    "pwd2",
    "pass",
    "user_pass",
    "newPassword",
    "passcode",
    "otp",
    "totp",
    "mfa_code",
    "recovery_code",
    "verification_code",
    "pin",
    "cvv",
    # Sessions, CSRF tokens, auth
    "sessionid",
    "PHPSESSID",
    "JSESSIONID",
    "sid",
    "connect.sid",
    "auth",
    "authToken",
    "secret",
    "csrf_token",
    "_csrf",
    "authenticity_token",
    "user[password]",
    "user%5Bpass%5D",
]

# Look-alikes that are not secrets: redacting them would cost the log its use.
KEPT_PARAMS = [
    "page",
    "sort",
    "order",
    "q",
    "query",
    "search",
    "keyboard",
    "keyword",
    "keys",
    "monkey",
    "author",
    "authority",
    "passage",
    "compass",
    "bypass",
    "word",
    "design",
    "signup",
    "signed_in",
    "country_code",
    "zip_code",
    "postal_code",
    "status_code",
    "code_challenge",
    "code_challenge_method",
    "state",
    "scope",
    "response_type",
    "grant_type",
    "redirect_uri",
    "client_id",
    "nonce",
    "sv",
    "se",
    "sp",
    "sr",
    "X-Amz-Algorithm",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "Expires",
    "utm_source",
    "pincode",
    "pinned",
    "sidebar",
    "ticket_id",
    "lang",
]

SECRET_HEADERS = [
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "X-Auth",
    "X-Auth-Token",
    "X-Auth-Key",
    "X-Access-Key",
    "X-Access-Token",
    "X-API-Key",
    "X-Goog-Api-Key",
    "Ocp-Apim-Subscription-Key",
    "PRIVATE-TOKEN",
    "X-Vault-Token",
    "X-CSRF-Token",
    "X-XSRF-TOKEN",
    "Stripe-Signature",
    "X-Hub-Signature-256",
    "X-Slack-Signature",
    "X-Twilio-Signature",
    "X-Shopify-Hmac-Sha256",
    "X-Amz-Security-Token",
    "X-JWT-Assertion",
    "X-Session-Token",
    "X-OTP",
    "X-Secret",
]

KEPT_HEADERS = [
    "User-Agent",
    "Accept",
    "Accept-Language",
    "Content-Type",
    "X-Forwarded-For",
    "X-Amz-Date",
    "X-GitHub-Event",
    "X-Slack-Request-Timestamp",
    "X-Keyboard-Layout",
    "X-Author",
]

LINE = '"%r" %q "%{Referer}i"'


def start(app: Flask, reqlog: RequestLog, log_format: str) -> FlaskClient:
    reqlog.init_app(app, format=log_format)
    return app.test_client(use_cookies=False)  # so a Cookie header goes out as given


def fetch(client: FlaskClient, target: str, **kwargs: t.Any) -> Response:
    with client.get(target, **kwargs) as response:
        response.get_data()
    return response


@pytest.mark.parametrize("name", SECRET_PARAMS)
def test_secret_param_is_redacted_in_text_lines(
    app: Flask, reqlog: RequestLog, read_log: t.Any, name: str
) -> None:
    client = start(app, reqlog, LINE)
    query = f"page=2&{name}={SECRET}&sort=up"
    fetch(client, f"/?{query}", headers={"Referer": f"https://example.com/cb?{query}"})
    (line,) = read_log()
    kept = f"page=2&{name}={REDACTED}&sort=up"
    assert line == f'"GET /?{kept} HTTP/1.1" ?{kept} "https://example.com/cb?{kept}"'


@pytest.mark.parametrize("name", SECRET_PARAMS)
def test_secret_param_is_redacted_in_json_lines(
    app: Flask, reqlog: RequestLog, read_log: t.Any, name: str
) -> None:
    client = start(app, reqlog, "json")
    query = f"page=2&{name}={SECRET}&sort=up"
    fetch(client, f"/?{query}", headers={"Referer": f"https://example.com/cb?{query}"})
    (line,) = read_log()
    assert SECRET not in line
    record = json.loads(line)
    kept = f"page=2&{name}={REDACTED}&sort=up"
    assert (record["query"], record["referer"]) == (kept, f"https://example.com/cb?{kept}")


@pytest.mark.parametrize("name", KEPT_PARAMS)
def test_look_alike_param_is_kept(
    app: Flask, reqlog: RequestLog, read_log: t.Any, name: str
) -> None:
    client = start(app, reqlog, LINE)
    query = f"{name}=visible&page=2"
    fetch(client, f"/?{query}", headers={"Referer": f"https://example.com/?{query}"})
    (line,) = read_log()
    assert line == f'"GET /?{query} HTTP/1.1" ?{query} "https://example.com/?{query}"'


@pytest.mark.parametrize("name", KEPT_PARAMS)
def test_look_alike_param_is_kept_in_json(
    app: Flask, reqlog: RequestLog, read_log: t.Any, name: str
) -> None:
    client = start(app, reqlog, "json")
    fetch(client, f"/?{name}=visible&page=2")
    (line,) = read_log()
    assert json.loads(line)["query"] == f"{name}=visible&page=2"


@pytest.mark.parametrize("header", SECRET_HEADERS)
def test_secret_request_header_is_redacted(
    app: Flask, reqlog: RequestLog, read_log: t.Any, header: str
) -> None:
    client = start(app, reqlog, f'"%{{{header}}}i" %>s')
    fetch(client, "/", headers={header: SECRET})
    (line,) = read_log()
    assert line == f'"{REDACTED}" 200'


@pytest.mark.parametrize("header", SECRET_HEADERS)
def test_secret_response_header_is_redacted(
    app: Flask, reqlog: RequestLog, read_log: t.Any, header: str
) -> None:
    @app.get("/issue")
    def issue() -> tuple[str, dict[str, str]]:
        return "ok", {header: SECRET}

    client = start(app, reqlog, f'"%{{{header}}}o" %>s')
    fetch(client, "/issue")
    (line,) = read_log()
    assert line == f'"{REDACTED}" 200'


@pytest.mark.parametrize("header", KEPT_HEADERS)
def test_other_header_is_kept(app: Flask, reqlog: RequestLog, read_log: t.Any, header: str) -> None:
    client = start(app, reqlog, f'"%{{{header}}}i"')
    fetch(client, "/", headers={header: "visible"})
    (line,) = read_log()
    assert line == '"visible"'


@pytest.mark.parametrize(
    "target",
    [
        f"https://app.example.com/cb?code={SECRET}&state=xyz",
        f"/cb?state=xyz&code={SECRET}",
        f"https://app.example.com/cb#access_token={SECRET}&state=xyz",
    ],
)
def test_oauth_code_in_a_redirect_location_is_redacted(
    app: Flask, reqlog: RequestLog, read_log: t.Any, target: str
) -> None:
    @app.get("/authorize")
    def authorize() -> Response:
        return redirect(target)

    client = start(app, reqlog, '%>s "%{Location}o"')
    response = fetch(client, "/authorize")
    assert SECRET in response.headers["Location"]  # the client gets it; the log does not
    (line,) = read_log()
    assert SECRET not in line
    assert line.startswith('302 "') and "state=xyz" in line


def test_redact_option_still_adds_fragments(
    app: Flask, reqlog: RequestLog, read_log: t.Any
) -> None:
    reqlog.init_app(app, format="%q", redact=["ssn"])
    fetch(app.test_client(), f"/?my_ssn={SECRET}&userSSN={SECRET}&page=1")
    assert read_log() == [f"?my_ssn={REDACTED}&userSSN={REDACTED}&page=1"]
