"""A module-level WSGI ``application`` for gunicorn, uwsgi or mod_wsgi.

A drop-in for ``placement.wsgi.api:application``: the configuration is found
as upstream finds it (``$OS_PLACEMENT_CONFIG_DIR/placement.conf``, else
oslo.config's search: ``~/.placement/``, ``~/``, ``/etc/placement/``, ``/etc/``
and their ``placement.conf.d/``; ``ALLOTMENT_CONFIG_FILE`` names a file of our
own), with upstream's defaults: ``auth_strategy = keystone``, no schema upgrade
on start. It fails closed: without a configured database, or with a value it
cannot use, it refuses to start with one line on standard error (no embedded
SQLite, no noauth2 unless configured).
"""

from __future__ import annotations

import sys
from typing import Any


def load_application(environ: dict[str, str] | None = None) -> Any:
    """Build the application, or exit with one clear line."""
    from allotment import config, startup
    from allotment.app import make_app
    from allotment.logs import setup_logging

    try:
        settings = config.load(environ=environ, require_database=True)
        setup_logging(settings)
        startup.announce(settings)
        return make_app(settings)
    except Exception as error:  # noqa: BLE001 - one line, then refuse to start
        from allotment.commands.errors import describe

        message = describe(error)
        if message is None:
            raise
        print(f"allotment: refusing to start: {message}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


application = load_application()
