"""Operator commands behind ``allotment db import|adopt``, ``status`` and ``audit``.

Each module has a ``run(args, settings) -> int`` called by ``allotment.cli``
and does the printing; the SQL lives in ``allotment.store``.
"""
