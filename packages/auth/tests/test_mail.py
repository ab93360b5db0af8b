"""The default mail sender over TLS: STARTTLS with a login, and TLS from the start, to a
real SMTP server (aiosmtpd) with a certificate made for the test."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import typing as t
from pathlib import Path

import pytest

PASSWORD = "ann-correct-horse-battery"


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1, which the client
    trusts through ``SSL_CERT_FILE`` (certificates are verified, never skipped)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - a fixed command
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Accept:
    """aiosmtpd authenticator: one user name and password."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: t.Any, session: t.Any, envelope: t.Any, mechanism: str, data: t.Any
    ) -> t.Any:
        from aiosmtpd.smtp import AuthResult

        ok = data.login == b"mailer" and data.password == b"smtp-secret"
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


def test_starttls_with_login(
    make_site: t.Callable[..., t.Any], smtp: t.Any, certificate: ssl.SSLContext, submit: t.Any
) -> None:
    from aiosmtpd.controller import Controller

    accept = Accept()
    server = type(smtp)()  # a second server, on its own port: this one needs TLS and login
    controller = Controller(
        server,
        hostname=server.host,
        port=server.port,
        tls_context=certificate,
        require_starttls=True,
        authenticator=accept,
        auth_required=True,
    )
    controller.start()
    try:
        app, _ = make_site(
            AUTH_MAIL_PORT=server.port,
            AUTH_MAIL_SECURITY="starttls",
            AUTH_MAIL_USERNAME="mailer",
            AUTH_MAIL_PASSWORD="smtp-secret",
        )
        response = submit(app.test_client(), "/auth/reset", {"login": "ann"})
        assert response.status_code == 200
    finally:
        controller.stop()
    assert accept.logins == ["mailer"]
    assert [m["To"] for m in server.messages] == ["ann@example.com"]
    assert smtp.messages == []


def test_a_wrong_smtp_password_is_logged_not_shown(
    make_site: t.Callable[..., t.Any],
    smtp: t.Any,
    certificate: ssl.SSLContext,
    submit: t.Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aiosmtpd.controller import Controller

    server = type(smtp)()
    controller = Controller(
        server,
        hostname=server.host,
        port=server.port,
        tls_context=certificate,
        require_starttls=True,
        authenticator=Accept(),
        auth_required=True,
    )
    controller.start()
    try:
        app, _ = make_site(
            AUTH_MAIL_PORT=server.port,
            AUTH_MAIL_SECURITY="starttls",
            AUTH_MAIL_USERNAME="mailer",
            AUTH_MAIL_PASSWORD="not-the-smtp-secret",
            AUTH_MAIL_TIMEOUT=2,  # aiosmtpd holds a failed login's answer
        )
        response = submit(app.test_client(), "/auth/reset", {"login": "ann"})
    finally:
        controller.stop()
    assert response.status_code == 200
    assert "a mail could not be sent (SMTP" in caplog.text
    assert "not-the-smtp-secret" not in caplog.text
    assert server.messages == []


def test_tls_from_the_start(
    make_site: t.Callable[..., t.Any], smtp: t.Any, certificate: ssl.SSLContext, submit: t.Any
) -> None:
    from aiosmtpd.controller import Controller

    server = type(smtp)()
    controller = Controller(server, hostname=server.host, port=server.port, ssl_context=certificate)
    controller.start()
    try:
        app, _ = make_site(AUTH_MAIL_PORT=server.port, AUTH_MAIL_SECURITY="ssl")
        assert submit(app.test_client(), "/auth/reset", {"login": "ann"}).status_code == 200
    finally:
        controller.stop()
    assert [m["To"] for m in server.messages] == ["ann@example.com"]
