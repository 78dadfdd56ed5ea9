"""Logging set-up shared by the server and the WSGI module.

Every record gets ``request_id``, ``global_request_id``, ``user_id`` and
``project_id`` attributes (``-`` outside a request) from the request being
served, so log formats can show them; the default format does.
"""

from __future__ import annotations

import contextvars
import logging
import sys

from allotment.config import Settings

NO_VALUE = "-"
LOG_FIELDS = ("request_id", "global_request_id", "user_id", "project_id")
LOG_FORMAT = (
    "%(asctime)s %(process)d %(levelname)s %(name)s "
    "[%(request_id)s %(global_request_id)s %(user_id)s %(project_id)s] %(message)s"
)
# The ids of the request this thread (or task) is serving; set by RequestLog.
LOG_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "allotment_log_context", default=None
)


class RequestIdLogFilter(logging.Filter):
    """Adds the current request's ids (``-`` outside a request) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = LOG_CONTEXT.get() or {}
        for name in LOG_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, values.get(name, NO_VALUE))
        return True


def bind_log_identity(user_id: str | None, project_id: str | None) -> None:
    """Called once the caller is known, so later log lines name them."""
    values = LOG_CONTEXT.get()
    if values is not None:
        values["user_id"] = user_id or NO_VALUE
        values["project_id"] = project_id or NO_VALUE


def setup_logging(settings: Settings) -> None:
    level = logging.DEBUG if settings.debug else logging.INFO
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdLogFilter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("allotment.access").setLevel(
        logging.INFO if settings.access_log else logging.WARNING
    )
