"""Where lines go: a file (rotated or not), standard output or error, or a logger."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import typing as t

from .writer import LogWriter

if t.TYPE_CHECKING:
    from .settings import RequestLogSettings


class StandardStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stdout`` or ``sys.stderr`` as they are when each line is written,
    so a stream replaced after start-up (by a test runner or a daemon) is followed."""

    def __init__(self, name: t.Literal["stdout", "stderr"]) -> None:
        super().__init__(getattr(sys, name))
        self._name = name

    def flush(self) -> None:
        self.stream = getattr(sys, self._name)
        super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = getattr(sys, self._name)
        super().emit(record)


def make_writer(settings: RequestLogSettings) -> LogWriter:
    """The writer for ``settings.output``; a file is opened now, so a bad path fails here.

    :raises ValueError: naming ``REQLOG_OUTPUT`` if the file cannot be opened.
    """
    output = settings.output
    if isinstance(output, logging.Logger):
        if output.level == logging.NOTSET:
            # Access lines are INFO records; an unconfigured logger would drop them all.
            output.setLevel(logging.INFO)
        return LogWriter(settings.formatter, logger=output, max_queued=settings.queue_size)
    if output in ("stdout", "stderr"):
        handler: logging.Handler = StandardStreamHandler(output)  # type: ignore[arg-type]
    else:
        try:
            os.makedirs(os.path.dirname(output), exist_ok=True)
            handler = _file_handler(settings, output)
        except OSError as error:
            raise ValueError(
                f"REQLOG_OUTPUT: cannot open {output!r} for writing: {error.strerror}"
            ) from None
    return LogWriter(settings.formatter, handler=handler, max_queued=settings.queue_size)


def _file_handler(settings: RequestLogSettings, path: str) -> logging.Handler:
    if settings.max_bytes is not None:
        return logging.handlers.RotatingFileHandler(
            path,
            maxBytes=settings.max_bytes,
            backupCount=settings.backup_count,
            encoding="utf-8",
        )
    if settings.rotate_when is not None:
        return logging.handlers.TimedRotatingFileHandler(
            path,
            when=settings.rotate_when,
            backupCount=settings.backup_count,
            encoding="utf-8",
        )
    # Reopens the file when logrotate or an operator moves it away.
    return logging.handlers.WatchedFileHandler(path, encoding="utf-8")
