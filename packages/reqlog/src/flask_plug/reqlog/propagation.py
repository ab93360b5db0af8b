"""Request ids that follow the work: into threads the request starts, and onto the HTTP
calls it makes (``requests``, ``httpx``). Neither library is imported here."""

from __future__ import annotations

import contextvars
import functools
import typing as t

from flask import current_app, has_app_context

from ._state import EXTENSION_KEY
from .request_id import current_request_id

if t.TYPE_CHECKING:
    from collections.abc import MutableMapping

    from ._state import State

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
DEFAULT_HEADER = "X-Request-ID"


class OutgoingRequest(t.Protocol):
    """What :func:`send_request_id` needs of a request: ``requests``'
    ``PreparedRequest`` and ``httpx.Request`` both have it."""

    @property
    def headers(self) -> MutableMapping[str, t.Any]: ...


T = t.TypeVar("T", bound=OutgoingRequest)


def copy_request_context(function: F) -> F:
    """``function``, made to run in a copy of the caller's context, wherever it is called:
    in a ``threading.Thread``, a ``concurrent.futures.ThreadPoolExecutor``, a callback.

    The copy is taken now (call this in the request), so the thread sees the request id
    (:data:`current_request_id`, ``%(request_id)s`` on its log records, ``g.request_id``),
    every other :class:`~contextvars.ContextVar` set so far, other extensions' included,
    and Flask's ``current_app``, ``g`` and ``request``. Each call runs in a fresh copy of
    it, so one wrapped function may run in many threads at once::

        @app.post("/reports")
        def create_report():
            pool.submit(copy_request_context(build_report), request.json)
            return {"queued": g.request_id}, 202

    ``g`` is the request's own object, not a copy: read what the thread needs, but do not
    write to it from the thread. ``request`` may have been answered by the time the thread
    reads it: pass the body and the form values as arguments instead.

    .. versionadded:: 0.2
    """
    context = contextvars.copy_context()

    @functools.wraps(function)
    def in_request_context(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return context.copy().run(function, *args, **kwargs)

    return t.cast("F", in_request_context)


def send_request_id(request: T) -> T:
    """Add the current request id to an outgoing HTTP request, in the header the app echoes
    (``REQLOG_REQUEST_ID_HEADER``, ``X-Request-ID`` by default); outside a request (and
    its :func:`copy_request_context` threads) the request is left as it is.

    Give it to ``requests`` as the ``auth`` of a call or a session (which has no hook that
    runs before sending), and to an ``httpx.Client`` as a ``request`` event hook::

        session = requests.Session()
        session.auth = send_request_id
        client = httpx.Client(event_hooks={"request": [send_request_id]})

    For an ``httpx.AsyncClient``, use :func:`asend_request_id`.

    .. versionadded:: 0.2
    """
    request_id = current_request_id.get()
    if request_id is not None:
        request.headers[_header()] = request_id
    return request


async def asend_request_id(request: T) -> T:
    """:func:`send_request_id` as an ``httpx.AsyncClient`` ``request`` event hook::

        client = httpx.AsyncClient(event_hooks={"request": [asend_request_id]})

    .. versionadded:: 0.2
    """
    return send_request_id(request)


def _header() -> str:
    if has_app_context():
        state: State | None = current_app.extensions.get(EXTENSION_KEY)
        if state is not None:
            return state.settings.request_id_header
    return DEFAULT_HEADER
