"""Logging set-up shared by the server and the WSGI module.

Every record gets ``request_id``, ``global_request_id``, ``user_id`` and
``project_id`` attributes (``-`` outside a request) from the request being
served, so log formats can show them; the default format does.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import logging.config
import logging.handlers
import os
import sys
from collections.abc import Mapping
from typing import Any

from gunicorn.glogging import Logger as _GunicornBase

from allotment.config import ConfigError, Settings

NO_VALUE = "-"
LOG_FIELDS = ("request_id", "global_request_id", "user_id", "project_id")
# One plain format for every line (upstream's order: time, pid, level, logger, ids).
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


class JSONFormatter(logging.Formatter):
    """Exactly one JSON object per line, whatever the record holds (a traceback
    becomes the ``traceback`` string; a mapping passed as the log arguments, as
    the access log does, is merged in as fields)."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        for name in LOG_FIELDS:
            document[name] = getattr(record, name, NO_VALUE)
        if isinstance(record.args, Mapping):
            for key, value in record.args.items():
                document.setdefault(str(key), value)
        message = document["message"]
        if isinstance(message, str) and message.startswith("{") and message.endswith("}"):
            # The access log's JSON mode writes a JSON object: merge it, not nest it.
            try:
                fields = json.loads(message)
            except ValueError:
                fields = None
            if isinstance(fields, dict):
                document.update(fields)
                document["message"] = "{} {} {}".format(
                    fields.get("method", ""), fields.get("path", ""), fields.get("status", "")
                ).strip()
        if record.exc_info:
            document["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = record.stack_info
        return json.dumps(document, default=str, ensure_ascii=False)


_OURS = "_allotment_handler"

_FACILITIES = {
    name.lower().removeprefix("log_"): value
    for name, value in vars(logging.handlers.SysLogHandler).items()
    if name.startswith("LOG_") and isinstance(value, int)
}


def _syslog_facility(name: str) -> int:
    key = name.lower().removeprefix("log_")
    if key not in logging.handlers.SysLogHandler.facility_names and key not in _FACILITIES:
        raise ConfigError(f"[DEFAULT] syslog_log_facility: unknown facility {name!r}")
    return logging.handlers.SysLogHandler.facility_names.get(key, _FACILITIES.get(key, 1))


def _handlers(settings: Settings, stderr_default: bool = True) -> list[logging.Handler]:
    handlers: list[logging.Handler] = []
    if settings.log_file:
        path = settings.log_file
        if settings.log_dir and not os.path.isabs(path):
            path = os.path.join(settings.log_dir, path)
        try:
            if settings.watch_log_file:
                handlers.append(logging.handlers.WatchedFileHandler(path, encoding="utf-8"))
            else:
                handlers.append(logging.FileHandler(path, encoding="utf-8"))
        except OSError as error:
            raise ConfigError(f"[DEFAULT] log_file {path}: {error.strerror}") from None
    if settings.use_syslog:
        address = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        handlers.append(
            logging.handlers.SysLogHandler(
                address=address, facility=_syslog_facility(settings.syslog_log_facility)
            )
        )
    if settings.use_journal:
        try:
            from systemd import journal

            handlers.append(journal.JournalHandler(SYSLOG_IDENTIFIER="allotment"))
        except ImportError:
            handlers.append(logging.StreamHandler(sys.stderr))
            logging.getLogger(__name__).warning(
                "[DEFAULT] use_journal: the systemd Python bindings are not installed; "
                "logging to standard error"
            )
    if (not handlers and stderr_default) or settings.use_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    return handlers


def setup_logging(settings: Settings) -> None:
    """Root logging as upstream's oslo.log options say; one format for every line
    (ours, gunicorn's through ``GunicornLogger``, libraries')."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    if settings.log_config_append:
        try:
            logging.config.fileConfig(settings.log_config_append, disable_existing_loggers=False)
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise ConfigError(
                f"[DEFAULT] log_config_append {settings.log_config_append}: {error}"
            ) from None
        return
    level = logging.DEBUG if settings.debug else logging.INFO
    # A host that configured logging itself (a test runner, an embedding program)
    # keeps its handlers; we add standard error only when nobody logs anywhere.
    foreign = [h for h in root.handlers if not getattr(h, _OURS, False)]
    formatter: logging.Formatter = (
        JSONFormatter()
        if settings.json_logs
        else logging.Formatter(LOG_FORMAT, datefmt=settings.log_date_format)
    )
    for handler in _handlers(settings, stderr_default=not foreign):
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdLogFilter())
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("allotment.access").setLevel(
        logging.INFO if settings.access_log else logging.WARNING
    )


class GunicornLogger(_GunicornBase):
    """gunicorn's own lines go through the root handlers, in our one format."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
