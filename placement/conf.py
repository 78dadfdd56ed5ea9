"""``placement.conf``: ``register_opts(conf)`` declares the placement options on an
oslo.config ``ConfigOpts`` (see ``allotment.testing.conf``)."""

from __future__ import annotations

from allotment.testing.conf import register_opts

__all__ = ["register_opts"]
