"""Access and request logs for Flask: Common, Combined, JSON and custom formats, request
ids that correlate the app's own logs, redaction of secrets, rotation, and writing off
the request thread."""

from __future__ import annotations

from .entry import LogEntry
from .escaping import (
    DEFAULT_REDACT,
    DEFAULT_REDACT_NAMES,
    DEFAULT_REDACT_PARTS,
    MAX_FIELD_LENGTH,
    REDACTED,
)
from .extension import RequestLog
from .formats import COMBINED, COMMON
from .middleware import REQUEST_ID_KEY
from .propagation import asend_request_id, copy_request_context, send_request_id
from .request_id import RequestIdFilter, current_request_id
from .settings import RequestLogOptions, RequestLogSettings

__version__ = "0.1.0"

__all__ = [
    "COMBINED",
    "COMMON",
    "DEFAULT_REDACT",
    "DEFAULT_REDACT_NAMES",
    "DEFAULT_REDACT_PARTS",
    "MAX_FIELD_LENGTH",
    "REDACTED",
    "REQUEST_ID_KEY",
    "LogEntry",
    "RequestIdFilter",
    "RequestLog",
    "RequestLogOptions",
    "RequestLogSettings",
    "asend_request_id",
    "copy_request_context",
    "current_request_id",
    "send_request_id",
]
