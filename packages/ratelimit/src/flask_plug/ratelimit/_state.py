"""The limiter's per-app state: settings, storage, the cached plans and the request hook."""

from __future__ import annotations

import math
import time
import typing as t

from flask import after_this_request, request

from .breach import Breach, answer_breach
from .dynamic import resolve
from .errors import RateLimitExceeded, RateLimitNeverAllowed, RateLimitStorageUnavailable
from .keys import remote_addr, storage_key_part
from .middleware import APPLIED, Applied
from .plan import describe, make_plan
from .reporting import OnceLog
from .storage import Check, StorageError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from flask import Flask, Request
    from werkzeug.routing import Rule
    from werkzeug.wrappers import Response

    from .algorithms import Usage
    from .limits import Limit
    from .plan import DeductWhen, OnBreach, Plan
    from .settings import LimiterSettings
    from .storage import Mode, Storage

EXTENSION_KEY = "flask-plug-ratelimit"
_OTHER = "<other>"
"""The one plan key of every method neither standard nor declared by the route: lower
case, so no request method (Werkzeug upper-cases them) can equal it."""
_STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")


def get_state(app: Flask) -> LimiterState:
    """The limiter's state on ``app``.

    :raises RuntimeError: if no limiter is registered on ``app``.
    """
    try:
        return t.cast("LimiterState", app.extensions[EXTENSION_KEY])
    except KeyError:
        raise RuntimeError(
            "flask-plug-ratelimit is not initialised on this app: call init_app(app) first"
        ) from None


def current_request() -> Request:
    """The request itself, not its proxy: cheaper to read many attributes of."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return req


class LimiterState:
    """Per-app settings, storage and the plan of each (endpoint, method), cached:
    ``app.extensions["flask-plug-ratelimit"]``, which
    :meth:`~flask_plug.ratelimit.RateLimiter.init_app` stores.

    The cache stays bounded whatever clients send: its keys are an endpoint (or ``None``
    for requests no route matches) and a method from a fixed set, the standard ones, the
    exempt ones and those the endpoint's routes declare; every other method shares one key.

    .. versionadded:: 0.2
        Documented, as ``LimiterState``, with :meth:`limits_for`.
    """

    def __init__(
        self,
        app: Flask,
        settings: LimiterSettings,
        storage: Storage,
        request_filters: list[t.Callable[[], bool]] | None = None,
    ) -> None:
        self.app = app
        """The app these limits belong to: planning needs no app context."""
        self.settings = settings
        self.storage = storage
        self.request_filters = [] if request_filters is None else request_filters
        """The limiter's ``request_filter`` functions: the list itself, which sees those
        registered later."""
        self._log_once = OnceLog(app.logger)
        self._key_head = settings.key_prefix + ":{"
        self._plans: dict[tuple[str | None, str], Plan | None] = {}
        # Each known method's plan key; HEAD is planned as GET, since GET's view answers it.
        self._method_keys = {m: m for m in (*_STANDARD_METHODS, *settings.exempt_methods)}
        self._method_keys["HEAD"] = "GET"
        self._failing_since = 0.0
        self._last_report = -math.inf
        self._unreported = 0
        self._gcra = settings.strategy == "gcra"

    def limits_for(self, endpoint: str, method: str) -> tuple[str, ...]:
        """The limits applied to ``method`` requests routed to ``endpoint``, as text, such
        as ``("10 per 1 minute", "100 per 1 day")``; empty when none apply. The
        application-wide limits are among them; limits a function gives per request are
        one entry naming it: ``"set per request by plan_limits"``.

        The same rules as requests follow: an exempt view or blueprint has none; a view's
        own limits replace its innermost limited blueprint's, which replace the app's
        default; limits for other ``methods`` do not count; exempt methods have none;
        ``HEAD`` has those of ``GET``. The limits are reported whether or not the limiter
        is ``enabled``. No app context is needed: flask-plug-apidocs calls this while it
        builds the OpenAPI document.

        .. versionadded:: 0.2
        """
        # Not cached: a caller may ask before every view and limit is registered.
        method = method.upper()
        plan = make_plan(self.app, self.settings, endpoint, self._plan_key(endpoint, method))
        return () if plan is None else tuple(text for _, text in describe(plan))

    def plan_for(self, endpoint: str | None, method: str) -> Plan | None:
        """The limits that apply to ``method`` requests routed to ``endpoint``, if any.

        ``HEAD`` gets the plan of ``GET``; ``endpoint`` ``None`` means no route matched.
        """
        method = method.upper()
        return self._cached_plan(endpoint, self._plan_key(endpoint, method))

    def storage_prefix(self, client: str | None = None) -> str:
        """What the storage keys of ``client`` start with; of every client if ``None``."""
        prefix = self.settings.key_prefix + ":"
        # No ":" after the client part: the application-wide counters go on with "#".
        return prefix if client is None else prefix + "{" + storage_key_part(client) + "}"

    def check_request(self) -> Response | None:
        """``before_request``: check and charge the request's limits, or refuse it (with
        an ``on_breach`` function's response, if one gives one)."""
        req = current_request()
        rule = req.url_rule
        method = req.method
        key = self._method_keys.get(method) or _declared_or_other(
            method, () if rule is None else (rule,)
        )
        plan = self._cached_plan(None if rule is None else rule.endpoint, key)
        if plan is None:
            return None
        if self.request_filters and self._filtered():
            return None
        if plan.dynamic:
            plan = resolve(plan, self._log_once)
        checks, counted = self._charges(plan, req)
        if not checks:
            return None
        if plan.deducting:
            return self._check_deducting(plan, checks, counted, req)
        usages = self._hit(plan, checks)
        if usages is None:
            return None
        refused = [i for i, usage in enumerate(usages) if not usage.allowed]
        if refused:
            usages = _uncharged(usages, checks, self._gcra)
        req.environ[APPLIED] = Applied(plan, counted, usages)
        if refused:
            return self._refuse(plan, checks, counted, usages, refused)
        return None

    def _filtered(self) -> bool:
        """Whether a ``request_filter`` function exempts this request; one that raises
        does not (it is logged once)."""
        for request_filter in self.request_filters:
            try:
                if request_filter():
                    return True
            except Exception as e:
                self._log_once.error(
                    (request_filter, type(e)),
                    "the request filter %s raised %s; it exempts no request while it does",
                    getattr(request_filter, "__qualname__", repr(request_filter)),
                    type(e).__name__,
                    exc_info=True,
                )
        return False

    def _refuse(
        self,
        plan: Plan,
        checks: list[Check],
        counted: list[int],
        usages: list[Usage],
        refused: list[int],
    ) -> Response:
        """The answer to a refused request: an ``on_breach`` function's response, else
        :exc:`RateLimitExceeded` for the limit with the longest wait. The functions asked:
        each group's own ``on_breach`` with its refused limit that has the longest wait,
        then the app's with the request's worst."""
        worst = max(refused, key=lambda i: usages[i].retry_after)
        if plan.on_breach:

            def breach(i: int) -> Breach:
                index = counted[i]
                key_func = plan.groups[plan.group_of[index]].key_func
                return Breach(
                    checks[i].limit.text, plan.labels[index], key_func(), usages[i].retry_after
                )

            by_group: dict[int, int] = {}
            for i in sorted(refused, key=lambda i: -usages[i].retry_after):
                by_group.setdefault(plan.group_of[counted[i]], i)
            callbacks: list[tuple[OnBreach, Breach]] = []
            for group_index, i in sorted(by_group.items()):
                callback = plan.groups[group_index].on_breach
                if callback is not None:
                    callbacks.append((callback, breach(i)))
            if self.settings.on_breach is not None:
                callbacks.append((self.settings.on_breach, breach(worst)))
            answer = answer_breach(callbacks)
            if answer is not None:
                return answer
        raise RateLimitExceeded(checks[worst].limit.text, usages[worst].retry_after)

    def _check_deducting(
        self, plan: Plan, checks: list[Check], counted: list[int], req: Request
    ) -> Response | None:
        """The request hook for plans with ``deduct_when`` limits: those are only checked
        now (no room refuses the request), the others charged; the response decides, in
        :meth:`_deduct`, whether the first are charged too."""
        deducting = plan.deducting
        later = [i for i, index in enumerate(counted) if deducting[index] is not None]
        now = [i for i, index in enumerate(counted) if deducting[index] is None]
        later_usages: list[Usage] = []
        now_usages: list[Usage] = []
        if later:
            found = self._hit(plan, [checks[i] for i in later], "check")
            if found is None:
                return None
            later_usages = found
        if now:
            has_room = all(usage.allowed for usage in later_usages)
            found = self._hit(plan, [checks[i] for i in now], "charge" if has_room else "check")
            if found is None:
                return None
            now_usages = found
        usages: list[Usage] = [*later_usages, *now_usages]
        order = [*later, *now]
        usages = [usage for _, usage in sorted(zip(order, usages, strict=True))]
        refused = [i for i, usage in enumerate(usages) if not usage.allowed]
        if refused:
            # "check" changes nothing, and "charge" all or nothing: nothing was charged.
            usages = _uncharged(usages, checks, self._gcra)
        else:
            # Not charged yet: the view sees (and the headers report, unless charged
            # after the response) the state before this request.
            before = _uncharged([usages[i] for i in later], [checks[i] for i in later], self._gcra)
            for i, usage in zip(later, before, strict=True):
                usages[i] = usage
        req.environ[APPLIED] = Applied(plan, counted, usages)
        if refused:
            return self._refuse(plan, checks, counted, usages, refused)
        if later:

            def deduct(response: Response) -> Response:
                self._deduct(response, req, plan, [(i, checks[i]) for i in later])
                return response

            after_this_request(deduct)
        return None

    def _deduct(
        self, response: Response, req: Request, plan: Plan, later: list[tuple[int, Check]]
    ) -> None:
        """After the view: charge the limits whose ``deduct_when`` says this response
        counts, even past their limit (it is sent already), and make the headers report
        the state after that charge."""
        answers: dict[DeductWhen, bool] = {}
        applied: Applied = req.environ[APPLIED]
        forced = []
        for i, check in later:
            deduct_when = t.cast("DeductWhen", plan.deducting[applied.counted[i]])
            if deduct_when not in answers:
                try:
                    answers[deduct_when] = bool(deduct_when(response))
                except Exception as e:
                    self._log_once.error(
                        (deduct_when, type(e)),
                        "the deduct_when function %s raised %s; responses are not counted"
                        " while it does",
                        getattr(deduct_when, "__qualname__", repr(deduct_when)),
                        type(e).__name__,
                        exc_info=True,
                    )
                    answers[deduct_when] = False
            if answers[deduct_when]:
                forced.append((i, check))
        if not forced:
            return
        try:
            results = self.storage.hit([check for _, check in forced], "force")
        except StorageError as e:
            self._report_storage_error(e, deny=False)
            return
        usages = list(applied.usages)
        for (i, _), usage in zip(forced, results, strict=True):
            # A charge past the limit leaves no room, whatever the count says.
            usages[i] = usage if usage.allowed else usage._replace(remaining=0)
        req.environ[APPLIED] = applied._replace(usages=usages)

    def _plan_key(self, endpoint: str | None, method: str) -> str:
        """The plan key of an upper-case ``method``: see the class docstring."""
        key = self._method_keys.get(method)
        if key is None:
            try:
                rules = list(self.app.url_map.iter_rules(endpoint)) if endpoint else []
            except KeyError:  # no such endpoint
                rules = []
            key = _declared_or_other(method, rules)
        return key

    def _cached_plan(self, endpoint: str | None, method: str) -> Plan | None:
        cache_key = (endpoint, method)
        try:
            return self._plans[cache_key]
        except KeyError:
            plan = make_plan(self.app, self.settings, endpoint, method)
            self._plans[cache_key] = plan
            return plan

    def _charges(self, plan: Plan, req: Request) -> tuple[list[Check], list[int]]:
        """The checks of the limits ``req`` is counted against, at the cost it has, and
        the index in ``plan.limits`` of each (``exempt_when`` and cost 0 skip some)."""
        # A plain tuple, not a NamedTuple: this runs on every request.
        checks = []
        counted = []
        index = 0
        for group in plan.groups:
            if group.exempt_when is not None and group.exempt_when():
                index += len(group.limits)
                continue
            cost = group.cost if isinstance(group.cost, int) else self._cost(group.cost)
            key_func = group.key_func
            if key_func is remote_addr:
                client = req.remote_addr or "unknown"  # the common case, without a proxy lookup
            else:
                client = key_func()
            head = self._key_head + storage_key_part(client)
            for limit, tail in zip(group.limits, group.key_tails, strict=True):
                if cost > 0:
                    if cost > 1:
                        self._check_possible(limit, cost)
                    checks.append(Check(head + tail, limit, cost))
                    counted.append(index)
                index += 1
        return checks, counted

    def _cost(self, function: Callable[[], int]) -> int:
        """What ``function`` says the request costs; 1 if that is not an int >= 0 (a bug in
        the app, logged once per function): a request that does not say what it costs
        costs what a request usually does."""
        cost = function()
        if isinstance(cost, int) and cost >= 0:
            return int(cost)  # a bool, as an int
        self._log_once.error(
            (function, "cost"),
            "the cost function %s returned %r, not an int >= 0; such requests are counted as 1",
            getattr(function, "__qualname__", function),
            cost,
        )
        return 1

    def _check_possible(self, limit: Limit, cost: int) -> None:
        """:raises RateLimitNeverAllowed: if ``cost`` is more than ``limit`` ever allows."""
        most = limit.burst if self._gcra else limit.amount
        if cost > most:
            raise RateLimitNeverAllowed(limit.text, cost, most)

    def _hit(self, plan: Plan, checks: list[Check], mode: Mode = "charge") -> list[Usage] | None:
        """Check and charge ``checks`` (as ``mode`` says); ``None`` when the storage fails
        and the plan's policy lets the request through.

        :raises RateLimitStorageUnavailable: when it fails and the policy says ``"deny"``.
        """
        try:
            usages = self.storage.hit(checks, mode)
        except StorageError as e:
            # One "deny" among the groups' policies denies the request.
            deny = any(group.on_storage_error == "deny" for group in plan.groups)
            self._report_storage_error(e, deny)
            if deny:
                raise RateLimitStorageUnavailable() from e
            return None
        if self._failing_since:
            self.app.logger.warning("rate limit storage is answering again")
            self._failing_since = 0.0
        return usages

    def _report_storage_error(self, error: StorageError, deny: bool) -> None:
        """Log storage failures at most every 10 seconds, counting the ones not logged."""
        now = time.monotonic()
        if not self._failing_since:
            self._failing_since = now
        if now - self._last_report < 10:
            self._unreported += 1
            return
        self.app.logger.error(
            "rate limit storage failed, requests are %s until it answers: %s"
            " (%d more failures since the last report)",
            "denied" if deny else "allowed",
            error,
            self._unreported,
        )
        self._last_report = now
        self._unreported = 0


def _uncharged(usages: list[Usage], checks: list[Check], gcra: bool) -> list[Usage]:
    """The usages of limits this request was not charged to (it was refused, or their
    ``deduct_when`` has not answered yet): those that had room report where they stand
    without it, from the storage's own numbers.

    The storage answers each allowed limit as if charged, which this undoes as each
    algorithm charged it (``algorithms.py``): GCRA moved its time ``reset`` on by
    ``interval * cost``; the windows count ``cost`` more but their ``reset`` is the
    window's end (for the sliding window, already decided by the current window's count
    before the charge).
    """
    uncharged = []
    for usage, check in zip(usages, checks, strict=True):
        if usage.allowed:
            reset = usage.reset
            if gcra:
                reset = max(0.0, reset - check.limit.interval * check.cost)
            usage = usage._replace(remaining=usage.remaining + check.cost, reset=reset)
        uncharged.append(usage)
    return uncharged


def _declared_or_other(method: str, rules: Iterable[Rule]) -> str:
    """The plan key of a method that is neither standard nor exempt: itself if one of
    ``rules`` declares it, else the one key all such methods share."""
    declared = any(rule.methods is not None and method in rule.methods for rule in rules)
    return method if declared else _OTHER
