"""Email alerts when runs end (seeds 001, 002, 004).

A job's `alerts` section says who gets mail (`emails`), for which end states (`on`),
after how many consecutive failures (`after_consecutive_failures`: no mail for the
first N-1 failures of a streak, then one per failure), and whether to send one
"recovered" mail when a success ends a streak that was alerted on (`on_recovery`).

SMTP settings live in the `settings` table (`jobtui daemon smtp ...`); environment
variables override them: JOBTUI_SMTP_HOST, JOBTUI_SMTP_PORT, JOBTUI_SMTP_STARTTLS,
JOBTUI_SMTP_SSL, JOBTUI_SMTP_USER, JOBTUI_SMTP_PASSWORD, JOBTUI_SMTP_FROM. The password
(and user) are secret references (`env:NAME`, `file:PATH`) resolved when mail is sent.
A failing mail server is logged; it never breaks a run.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from jobtui.engine.model.errors import InvalidInput
from jobtui.engine.model.secrets import is_secret_reference, redact, resolve_secret
from jobtui.engine.store import runs as run_rows

if TYPE_CHECKING:
    from jobtui.engine.model.spec import Alerts
    from jobtui.engine.store.db import Store

log = logging.getLogger("jobtui.alerts")

FAILURE_STATES = frozenset({"failed", "interrupted", "retrying"})
SUCCESS_STATES = frozenset({"succeeded", "partially_succeeded"})
SETTING_PREFIX = "smtp."
SMTP_KEYS = ("host", "port", "starttls", "ssl", "user", "password", "sender", "timeout")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password: str | None = None  # a secret reference, never a clear password
    sender: str = ""
    timeout: float = 10.0

    def public(self) -> dict[str, Any]:
        """For display: references shown as references, never resolved."""
        return asdict(self)


def _bool(value: str | None) -> bool:
    return str(value or "").lower() in ("1", "true", "yes", "on")


def smtp_settings(store: Store) -> SmtpSettings | None:
    """The effective SMTP settings (environment over the settings table), or None."""
    values: dict[str, str | None] = {
        key: store.get_setting(SETTING_PREFIX + key) for key in SMTP_KEYS
    }
    for key in SMTP_KEYS:
        env = os.environ.get(f"JOBTUI_SMTP_{'FROM' if key == 'sender' else key.upper()}")
        if env is not None:
            values[key] = env
    host = values.get("host")
    if not host:
        return None
    return SmtpSettings(
        host=host,
        port=int(values.get("port") or 25),
        starttls=_bool(values.get("starttls")),
        ssl=_bool(values.get("ssl")),
        user=values.get("user") or None,
        password=values.get("password") or None,
        sender=values.get("sender") or f"jobtui@{socket.gethostname()}",
        timeout=float(values.get("timeout") or 10.0),
    )


def save_smtp_settings(store: Store, **values: Any) -> SmtpSettings | None:
    """Store the given keys (None leaves a key as it is, "" clears it): all or none."""
    for key, value in values.items():
        if key not in SMTP_KEYS:
            raise InvalidInput(f"smtp: unknown setting {key!r}")
        if key == "password" and value and not is_secret_reference(value):
            raise InvalidInput(
                "password: give a secret reference (env:NAME or file:PATH), not the password"
            )
    for key, value in values.items():
        if value is None:
            continue
        if value == "":
            store.delete_setting(SETTING_PREFIX + key)
        else:
            store.set_setting(SETTING_PREFIX + key, str(value))
    return smtp_settings(store)


# -- deciding -----------------------------------------------------------------------
def failure_streak(states: list[str]) -> int:
    """Leading failures of a newest-first list of end states."""
    streak = 0
    for state in states:
        if state not in FAILURE_STATES:
            break
        streak += 1
    return streak


def decide(alerts: Alerts, state: str, history: list[str]) -> str | None:
    """ "alert", "recovery" or None for a run that ended in `state`.

    `history` holds the job's earlier end states, newest first (missed and skipped
    fires left out: they are not outcomes of a run).
    """
    if not alerts.emails:
        return None
    threshold = alerts.after_consecutive_failures
    if state in FAILURE_STATES or state == "failed":
        streak = 1 + failure_streak(history)
        wanted = state in alerts.on or ("failed" in alerts.on and state == "retrying")
        return "alert" if wanted and streak >= threshold else None
    if state in SUCCESS_STATES and alerts.on_recovery and failure_streak(history) >= threshold:
        return "recovery"
    if state in alerts.on:
        return "alert"
    return None


def compose(event: dict[str, Any], kind: str, sender: str, to: list[str]) -> EmailMessage:
    job = event["job"]
    state = event["state"]
    msg = EmailMessage()
    if kind == "recovery":
        msg["Subject"] = redact(f"[jobtui] {job} recovered: run {event['run_id']} {state}")
    else:
        msg["Subject"] = redact(f"[jobtui] {job}: run {event['run_id']} {state}")
    msg["From"] = sender
    msg["To"] = ", ".join(to)

    def when(value: float | None) -> str:
        return datetime.fromtimestamp(value, UTC).isoformat() if value else "—"

    lines = [
        f"Job:      {job}",
        f"Run:      {event['run_id']} (trigger {event.get('trigger')}, attempt "
        f"{event.get('attempt')})",
        f"State:    {state}",
        f"Started:  {when(event.get('started_at'))}",
        f"Ended:    {when(event.get('ended_at'))}",
    ]
    if event.get("streak"):
        lines.append(f"Consecutive failures: {event['streak']}")
    if event.get("error"):
        lines.append(f"Error:    {event['error']}")
    if kind == "recovery":
        lines.insert(0, "The job succeeded again after a run of failures.\n")
    lines.append(f"\nSee: jobtui runs show {event['run_id']}")
    # What the daemon resolved (or a worker's tail it quotes) is masked as in the run's
    # stored errors: a mail leaves the machine.
    msg.set_content(redact("\n".join(lines) + "\n"))
    return msg


def send(settings: SmtpSettings, msg: EmailMessage) -> None:
    """Deliver one message; raises on any SMTP or network error."""
    client: smtplib.SMTP
    if settings.ssl:
        client = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        if settings.starttls:
            client.starttls(context=ssl.create_default_context())
        if settings.user:
            user = resolve_secret(settings.user, field="smtp.user")
            password = resolve_secret(settings.password or "", field="smtp.password")
            client.login(user, password)
        client.send_message(msg)


class AlertDispatcher:
    """Decides in the caller's thread (it reads history), sends in a background thread."""

    def __init__(self, store: Store, *, background: bool = True):
        self.store = store
        self.sent = 0
        self.failed = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="jobtui-mail") if background else None

    def history(self, job_id: int, before_run: int, limit: int = 1000) -> list[str]:
        return run_rows.end_states_before(self.store, job_id, before_run, limit)

    def handle(self, alerts: Alerts, event: dict[str, Any]) -> str | None:
        if not alerts.emails:
            return None
        history = self.history(int(event["job_id"]), int(event["run_id"]), limit=1000)
        kind = decide(alerts, str(event["state"]), history)
        if kind is None:
            return None
        settings = smtp_settings(self.store)
        if settings is None:
            log.warning(
                "alert for run %s not sent: no SMTP server configured (jobtui daemon smtp)",
                event["run_id"],
            )
            return None
        event = dict(event, streak=1 + failure_streak(history) if kind == "alert" else 0)
        msg = compose(event, kind, settings.sender, list(alerts.emails))
        if self._pool is not None:
            self._pool.submit(self._deliver, settings, msg, event["run_id"])
        else:
            self._deliver(settings, msg, event["run_id"])
        return kind

    def _deliver(self, settings: SmtpSettings, msg: EmailMessage, run_id: int) -> None:
        try:
            send(settings, msg)
            self.sent += 1
            log.info("alert for run %s sent to %s", run_id, msg["To"])
        except Exception as exc:  # a mail server must never break anything
            self.failed += 1
            log.warning(
                "alert for run %s not sent: %s:%s: %s",
                run_id,
                settings.host,
                settings.port,
                exc,
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)


def alerts_from(raw: dict[str, Any]) -> Alerts:
    """A job's alerts section from a spec that does not validate as a whole: as much of it
    as can be read (the valid addresses and states), so a broken spec still alerts."""
    from jobtui.engine.model.spec import Alerts

    section = raw.get("alerts") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        return Alerts()
    try:
        return Alerts.model_validate(section)
    except Exception:
        pass
    kept: dict[str, Any] = {}
    for key in ("emails", "on"):
        values = section.get(key)
        if isinstance(values, list):
            good = []
            for value in values:
                try:
                    Alerts.model_validate({key: [value]})
                    good.append(value)
                except Exception:
                    continue
            kept[key] = good
    for key in ("after_consecutive_failures", "on_recovery"):
        try:
            Alerts.model_validate({key: section.get(key)})
            kept[key] = section[key]
        except Exception:
            continue
    return Alerts.model_validate(kept)
