"""Logging set-up shared by the server and the WSGI module."""

from __future__ import annotations

import logging
import sys

from allotment.config import Settings


def setup_logging(settings: Settings) -> None:
    level = logging.DEBUG if settings.debug else logging.INFO
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("allotment.access").setLevel(
        logging.INFO if settings.access_log else logging.WARNING
    )
