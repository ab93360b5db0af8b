"""Why a preflight is refused: the 403's body, in plain text or RFC 9457 problem+json."""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from flask import Request

_MAX_NAME = 64
_MAX_LISTED = 30
_TEXT = "text/plain"
_OFFERED = [_TEXT, "application/problem+json", "application/json"]


@dataclass(frozen=True)
class Refusal:
    """Why a preflight is refused.

    Only what the client sent as a validated token (a method or header name) is ever
    repeated, cut to 64 characters; never the origin. The allowed list comes from the
    app's rules (never its origins), at most 30 names.
    """

    reason: str
    """One line, for the body and the log: ``"method PATCH not allowed"``."""
    kind: str | None = None
    """``"method"`` or ``"header"`` when one name was refused."""
    name: str | None = None
    """The refused name, as sent (a token, cut to length)."""
    allowed: tuple[str, ...] = ()
    """The names of ``kind`` this request could have asked for."""

    def lines(self) -> list[str]:
        """The reason, and what was allowed instead."""
        if self.kind is None:
            return [self.reason]
        return [self.reason, f"allowed {self.kind}s: {', '.join(self._listed()) or 'none'}"]

    def text(self) -> str:
        return "CORS preflight refused: " + "\n".join(self.lines()) + "\n"

    def problem(self) -> dict[str, t.Any]:
        problem: dict[str, t.Any] = {
            "type": "about:blank",
            "title": "CORS preflight refused",
            "status": 403,
            "detail": self.reason,
        }
        if self.kind is not None:
            problem[f"refused_{self.kind}"] = self.name
            problem[f"allowed_{self.kind}s"] = self._listed()
        return problem

    def body(self, req: Request) -> tuple[str, str]:
        """The body and its mimetype, as the request's ``Accept`` prefers."""
        if req.accept_mimetypes.best_match(_OFFERED, default=_TEXT) == _TEXT:
            return self.text(), _TEXT
        return json.dumps(self.problem()), "application/problem+json"

    def _listed(self) -> list[str]:
        listed = [cut(name) for name in self.allowed[:_MAX_LISTED]]
        if len(self.allowed) > _MAX_LISTED:
            listed.append(f"... ({len(self.allowed) - _MAX_LISTED} more)")
        return listed


def cut(name: str) -> str:
    """``name``, at most 64 characters."""
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 3] + "..."


def method_refused(method: str, allowed: t.Iterable[str]) -> Refusal:
    return Refusal(f"method {cut(method)} not allowed", "method", cut(method), tuple(allowed))


def header_refused(header: str, allowed: t.Iterable[str], reason: str | None = None) -> Refusal:
    shown = cut(header)
    return Refusal(reason or f"header {shown} not allowed", "header", shown, tuple(allowed))
