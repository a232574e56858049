"""One retry policy for HTTP calls: the REST source and the monitoring webhook.

Retried: the exceptions the caller names (connection errors, timeouts) and the
answers 429 and 5xx. The wait before the next attempt is the server's
``Retry-After`` (seconds or an HTTP-date) when it sends one, otherwise
exponential backoff (``backoff``, 2x, 4x, ...); either is capped at
``max_wait``. Built on tenacity: the policy is declared, not a hand-written loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
import tenacity

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass
class Attempted:
    """How a call ended: the last response, or the last error, and the attempts made."""

    response: httpx.Response | None
    error: BaseException | None
    attempts: int


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait (``Retry-After``), or None when it does not say."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class _Wait(tenacity.wait.wait_base):
    """``Retry-After`` when the last answer carries one, else exponential backoff."""

    def __init__(self, backoff: float, max_wait: float) -> None:
        self.exponential = tenacity.wait_exponential(multiplier=backoff, max=max_wait)
        self.max_wait = max_wait

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after(outcome.result())
            if asked is not None:
                return min(asked, self.max_wait)
        return self.exponential(retry_state)


def call(
    send: Callable[[], httpx.Response],
    *,
    attempts: int,
    backoff: float,
    retry_on: tuple[type[BaseException], ...] = (httpx.TransportError,),
    max_wait: float = 60.0,
    on_retry: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Attempted:
    """Call ``send`` up to ``attempts`` times; never raises what ``retry_on`` names.

    Returns the first answer that is not 429/5xx, or the last answer or error
    once the attempts are used up. An exception outside ``retry_on`` propagates.
    """
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(attempts, 1)),
        wait=_Wait(backoff, max_wait),
        retry=(
            tenacity.retry_if_exception_type(retry_on)
            | tenacity.retry_if_result(lambda r: r.status_code in RETRY_STATUS)
        ),
        before_sleep=(lambda _state: on_retry()) if on_retry else None,
        retry_error_callback=lambda state: state,
        sleep=sleep,
    )
    out = retrying(send)
    if isinstance(out, tenacity.RetryCallState):  # attempts used up
        assert out.outcome is not None
        if out.outcome.failed:
            return Attempted(None, out.outcome.exception(), out.attempt_number)
        return Attempted(out.outcome.result(), None, out.attempt_number)
    return Attempted(out, None, int(retrying.statistics.get("attempt_number", 1)))
