"""Grouped alerts: one Slack-compatible JSON message per run, posted to a webhook.

The webhook URL is a secret (Slack's carries its token in the path): it is
never printed; :func:`mask_url` shows only its scheme and host. Delivery is
retried (429, 5xx, network errors; honouring ``Retry-After``) and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ingestion.redact import redact, redact_value

ICONS = {"error": ":red_circle:", "warn": ":large_yellow_circle:"}


@dataclass(frozen=True)
class IncidentNote:
    check_name: str
    key: str
    severity: str
    detail: str


@dataclass
class Delivery:
    delivered: bool
    attempts: int
    kind: str
    error: str | None = None


def mask_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port out of range, a bad IPv6 literal: show less, never raise
        return "<webhook>/***"
    return f"{parts.scheme}://{host}{port}/***"


def scrub(text: str, url: str) -> str:
    """Remove the URL (and its path, which holds the token) from an error message."""
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.query):
        if secret and secret != "/":
            text = text.replace(secret, "/***")
    return text


def build_message(
    *,
    new: list[IncidentNote],
    resolved: list[IncidentNote],
    still_open: int,
    run: dict[str, Any],
) -> dict[str, Any]:
    """The Slack-compatible payload: ``text`` (fallback) plus ``blocks``."""
    where = (
        f"`{run.get('command')}` on target {run.get('target') or 'default'}"
        f" at {str(run.get('git_commit') or 'no commit')[:10]}"
    )
    if new:
        head = f"dataops: {len(new)} new incident(s) in {where}"
    else:
        head = f"dataops: {len(resolved)} incident(s) resolved in {where}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}}
    ]
    if new:
        lines = [f"{ICONS.get(n.severity, '')} *{n.check_name}* {n.detail or n.key}" for n in new]
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}}
        )
    if resolved:
        lines = [f":white_check_mark: resolved *{n.check_name}* {n.key}" for n in resolved]
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"run {run.get('run_id')} · status {run.get('status')}"
                    f" · {still_open} incident(s) open",
                }
            ],
        }
    )
    return {
        "text": head,
        "blocks": blocks,
        "dataops": {
            "kind": "alert" if new else "resolved",
            "run_id": run.get("run_id"),
            "new": [n.__dict__ for n in new],
            "resolved": [n.__dict__ for n in resolved],
            "open": still_open,
        },
    }


def post(
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 5.0,
    max_wait: float = 30.0,
) -> Delivery:
    """POST the payload; retry on network errors, 429 and 5xx. Never raises.

    The wait between attempts is the webhook's ``Retry-After`` when it sends one
    (capped at ``max_wait``), else exponential backoff: the policy of
    :mod:`ingestion.retry`, shared with the REST source.
    """
    import httpx  # loaded only when an alert is actually sent (keeps CLI start-up fast)

    from ingestion import retry

    kind = str(payload.get("dataops", {}).get("kind", "alert"))
    payload = redact_value(payload)
    # any exception is retried and reported: a monitoring problem must never fail the build
    got = retry.call(
        lambda: httpx.post(url, json=payload, timeout=timeout),
        attempts=attempts,
        backoff=backoff,
        retry_on=(Exception,),
        max_wait=max_wait,
    )
    if got.response is None:
        error = redact(scrub(f"{type(got.error).__name__}: {got.error}", url))
        return Delivery(False, got.attempts, kind, error)
    if got.response.status_code < 300:
        return Delivery(True, got.attempts, kind)
    return Delivery(False, got.attempts, kind, f"HTTP {got.response.status_code}")
