"""The option registry: every configuration option, declared once.

Each ``Option`` names its section and option (as they appear in a
placement.conf), its type, default and help, who defines it (``source``:
upstream placement, the oslo library placement takes it from, or allotment
itself) and the ``Settings`` field it fills. ``allotment.config`` registers
these on an oslo.config ``ConfigOpts``; ``docs/configuration.md``, the
sample file (``allotment config sample``) and the ``ALLOTMENT_*``
environment variables all derive from this one list.

An option we accept but do not act on carries ``unsupported``: a warning
naming it is logged at start-up when it is set to anything but its default.
"""

from __future__ import annotations

from allotment.options.option import AUTH_STRATEGIES as AUTH_STRATEGIES
from allotment.options.option import CORS_ALLOW_HEADERS as CORS_ALLOW_HEADERS
from allotment.options.option import CORS_ALLOW_METHODS as CORS_ALLOW_METHODS
from allotment.options.option import CORS_EXPOSE_HEADERS as CORS_EXPOSE_HEADERS
from allotment.options.option import DEFAULT_BIND as DEFAULT_BIND
from allotment.options.option import GENERATION_STRATEGIES as GENERATION_STRATEGIES
from allotment.options.option import INCOMPLETE_CONSUMER_ID as INCOMPLETE_CONSUMER_ID
from allotment.options.option import Option
from allotment.options.ours import OUR_OPTIONS
from allotment.options.upstream import UPSTREAM_OPTIONS

OPTIONS: tuple[Option, ...] = UPSTREAM_OPTIONS + OUR_OPTIONS
OPTIONS_BY_FIELD: dict[str, Option] = {o.field: o for o in OPTIONS if o.field}
