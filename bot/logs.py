"""Logging set-up: plain text lines (the default) or, with ``MAINTBOT_LOG_FORMAT=json``, one
JSON object per line for a log collector.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, and the
ids the code passes with ``extra=`` (``window_id``, ``request_id``, ``system``, …); a
Slack request's id is also taken from :data:`REQUEST_ID`, which the HTTP server sets for
the request and every task its listeners start, and a window clock job's window from
:data:`WINDOW_ID`. Every string in the line, the message
and a traceback included, goes through :func:`bot.errors.redact` and has the process's
own secrets (the Slack tokens and signing secret) replaced: a secret never reaches a log
collector even when a message quotes one. A text line is scrubbed the same way.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from bot.errors import redact

__all__ = ["REQUEST_ID", "WINDOW_ID", "JsonFormatter", "TextFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The Slack request being handled (set by bot.slack.server; tasks started while handling
# it inherit it, so a listener's log lines after the ack carry it too).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "maintbot_request_id", default=None
)

# The window a clock job is working on (set for each job's task by the window clock).
WINDOW_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "maintbot_window_id", default=None
)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}


class TextFormatter(logging.Formatter):
    """A text line, traceback included, scrubbed like a JSON line (:func:`redact` and the
    process's own ``secrets``)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__(TEXT_FORMAT)
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), *self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ``secrets`` are replaced wherever they appear."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def _clean(self, text: str) -> str:
        return redact(text, *self.secrets)

    def _value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self._clean(str(value))

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._clean(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = self._value(value)
        for key, var in (("request_id", REQUEST_ID), ("window_id", WINDOW_ID)):
            current = var.get()
            if key not in line and current is not None:
                line[key] = self._clean(current)
        if record.exc_info:
            line["exception"] = self._clean(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self._clean(record.exc_text)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(
    level: str,
    log_format: Literal["text", "json"] = "text",
    *,
    secrets: Iterable[str | None] = (),
) -> None:
    """Log to stderr at ``level``, as text lines or JSON lines. A root logger that already
    has handlers of its own (a host program's, or pytest's) is left alone, as
    ``basicConfig`` leaves it; the handler added here is reused on a second call."""
    root = logging.getLogger()
    ours: list[logging.Handler] = [h for h in root.handlers if getattr(h, _OURS, False)]
    if not ours:
        if root.handlers:
            return
        stream = logging.StreamHandler(sys.stderr)
        setattr(stream, _OURS, True)
        root.addHandler(stream)
        ours = [stream]
    root.setLevel(level)
    for handler in ours:
        handler.setFormatter(
            JsonFormatter(secrets) if log_format == "json" else TextFormatter(secrets)
        )


_OURS = "_maintbot_handler"
