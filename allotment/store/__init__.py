"""The persistence layer: the only package that contains SQL.

Every function takes an explicit SQLAlchemy ``Connection`` already inside a
transaction opened by the caller (``Database.read()`` / ``Database.write()``),
and returns plain frozen dataclasses from ``allotment.model``.
"""
