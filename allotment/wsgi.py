"""A module-level WSGI ``application`` for gunicorn, uwsgi or mod_wsgi.

Settings come from ``--config-file`` equivalents: ``ALLOTMENT_CONFIG_FILE``,
``$OS_PLACEMENT_CONFIG_DIR/placement.conf`` and ``ALLOTMENT_*`` variables.
"""

from allotment import config
from allotment.app import make_app
from allotment.logs import setup_logging

settings = config.load()
setup_logging(settings)
application = make_app(settings)
