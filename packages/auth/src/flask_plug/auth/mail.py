"""The mails auth sends (password reset, registration, change of address): composed from
text templates, handed to one sender per app, sent once the answer has gone out.

.. versionadded:: 0.2
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import typing as t
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import after_this_request, has_request_context, render_template

from ._state import current_app_object

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response

    from .settings import MailSettings

MailSender = t.Callable[[EmailMessage], None]
"""What sends a mail: a callable taking an :class:`~email.message.EmailMessage` whose
``From``, ``To`` and ``Subject`` are set. An exception it raises is logged, never shown."""

MAILER_KEY = "flask-plug-auth.mail"


def smtp_sender(settings: MailSettings) -> MailSender:
    """The default sender: one SMTP connection per mail, to ``AUTH_MAIL_SERVER``."""

    def send(message: EmailMessage) -> None:
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.server,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username is not None and settings.password is not None:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)

    return send


class Mailer:
    """One app's mail: composes messages and delivers them through its sender.

    A failure to send is logged once when mail starts failing and once when it works
    again, never per mail: a broken server under a flood of reset requests writes two
    lines, not thousands.
    """

    def __init__(self, settings: MailSettings, sender: t.Callable[[], MailSender | None]) -> None:
        self.settings = settings
        self._custom_sender = sender
        self._default = smtp_sender(settings)
        self._lock = threading.Lock()
        self._failed = 0

    @property
    def sender(self) -> MailSender:
        """The app's sender (:meth:`Auth.mail_sender`), else the SMTP one."""
        return self._custom_sender() or self._default

    def compose(self, to: str, template: str, **context: t.Any) -> EmailMessage:
        """A mail to ``to`` from ``AUTH_MAIL_FROM``, rendered from a text template whose
        first line is ``Subject: ...``, followed by a blank line and the body."""
        text = render_template(template, **context)
        head, _, body = text.lstrip().partition("\n")
        label, _, subject = head.partition(":")
        if label.strip().lower() != "subject":
            raise ValueError(f"mail template {template} must start with a 'Subject:' line")
        message = EmailMessage()
        message["Subject"] = " ".join(subject.split())  # one line, whatever the template did
        message["From"] = self.settings.sender
        message["To"] = to
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.settings.sender)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message.set_content(body.lstrip("\n"))
        return message

    def mail(self, to: str, template: str, **context: t.Any) -> None:
        """Compose (:meth:`compose`) and :meth:`send` a mail. A mail that cannot be
        composed (an address with a line break, a broken template) is a failure to send:
        logged, never raised, so the answer stays the same."""
        app = current_app_object()
        try:
            message = self.compose(to, template, **context)
        except Exception as e:  # noqa: BLE001 - see above
            self._failed_once(app, e)
            return
        self.send(message)

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` once this request's answer has been sent (now outside a
        request), so the answer takes as long and says the same whether a mail went out
        and whether it could be delivered."""
        app = current_app_object()
        if not has_request_context():
            self._deliver(app, message)
            return

        @after_this_request
        def deliver_after(response: Response) -> Response:
            response.call_on_close(lambda: self._deliver(app, message))
            return response

    def _deliver(self, app: Flask, message: EmailMessage) -> None:
        try:
            with app.app_context():  # a custom sender may use current_app
                self.sender(message)
        except Exception as e:  # noqa: BLE001 - any sender's failure is logged, not raised
            self._failed_once(app, e)
            return
        with self._lock:
            failed, self._failed = self._failed, 0
        if failed:
            app.logger.warning(
                "flask-plug-auth: mail is sent again; %d mails could not be sent", failed
            )

    def _failed_once(self, app: Flask, error: Exception) -> None:
        with self._lock:
            self._failed += 1
            first = self._failed == 1
        if first:
            app.logger.error(
                "flask-plug-auth: a mail could not be sent (%s: %s); no further failure"
                " is logged until one is sent",
                type(error).__name__,
                error,
            )


def get_mailer(app: Flask) -> Mailer:
    """The mailer of ``app``.

    :raises RuntimeError: if no mail feature of auth is on in ``app``.
    """
    mailer = app.extensions.get(MAILER_KEY)
    if mailer is None:
        raise RuntimeError("no mail feature of flask-plug-auth is on in this app")
    return t.cast(Mailer, mailer)
