"""The change feed's statements, as each database is sent them."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from allotment.store import changes


def test_the_feed_insert_returns_nothing() -> None:
    # Writers never read back a feed id: no RETURNING, no sequence fetched first.
    # (A plain insert of these columns, compiled the same way, returns the id.)
    keys = ["provider_id", "created_at", "usage_only"]
    text = str(changes._INSERT.compile(dialect=postgresql.dialect(), column_keys=keys))
    assert text.startswith("INSERT INTO allotment_candidate_changes (provider_id,")
    assert "RETURNING" not in text
