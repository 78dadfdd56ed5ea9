"""Traits in the store: catalogue, filters, deletion rules and provider trait sets."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.model import ResourceProvider
from allotment.store import resource_provider as rp_store
from allotment.store import trait as store
from allotment.store.engine import Database
from allotment.store.tables import resource_providers


def make_provider(conn: Connection, name: str) -> ResourceProvider:
    """A root provider inserted with SQL (the provider API is another module's)."""
    provider_uuid = str(uuid.uuid4())
    new_id = conn.execute(
        resource_providers.insert().values(uuid=provider_uuid, name=name, generation=0)
    ).inserted_primary_key[0]
    conn.execute(
        sa.update(resource_providers)
        .where(resource_providers.c.id == new_id)
        .values(root_provider_id=new_id)
    )
    return rp_store.get(conn, provider_uuid)


def test_ensure_creates_once(db: Database) -> None:
    with db.write() as conn:
        created, was_created = store.ensure(conn, "CUSTOM_GOLD")
        again, again_created = store.ensure(conn, "CUSTOM_GOLD")
    assert was_created and not again_created
    assert created.name == again.name == "CUSTOM_GOLD"
    assert not created.standard
    assert again.last_modified is not None


def test_standard_traits_have_no_last_modified(db: Database) -> None:
    with db.read() as conn:
        trait = store.get(conn, "HW_CPU_X86_AVX2")
    assert trait.standard
    assert trait.last_modified is None


def test_get_unknown_and_unstorable_names(db: Database) -> None:
    with db.read() as conn:
        with pytest.raises(exc.TraitNotFound):
            store.get(conn, "CUSTOM_NOPE")
        assert store.find(conn, "CUSTOM_\x00NUL") is None
        with pytest.raises(exc.TraitNotFound) as caught:
            store.ids_for_names(conn, ["CUSTOM_\x00", "CUSTOM_B", "HW_CPU_X86_AVX2"])
    assert "CUSTOM_B" in str(caught.value)


def test_list_filters(db: Database) -> None:
    with db.write() as conn:
        for name in ("CUSTOM_A_B", "CUSTOM_AXB", "CUSTOM_C"):
            store.ensure(conn, name)
        provider = make_provider(conn, "rp")
        store.set_provider_traits(conn, provider, ["CUSTOM_C", "HW_CPU_X86_AVX2"])
    with db.read() as conn:

        def names(**filters: object) -> list[str]:
            return [t.name for t in store.list_traits(conn, **filters)]

        assert names(prefix="CUSTOM_") == ["CUSTOM_AXB", "CUSTOM_A_B", "CUSTOM_C"]
        # "_" in a prefix is a literal character, not a LIKE wildcard.
        assert names(prefix="CUSTOM_A_") == ["CUSTOM_A_B"]
        assert names(names=["CUSTOM_C", "CUSTOM_MISSING", "HW_CPU_X86_AVX2"]) == [
            "CUSTOM_C",
            "HW_CPU_X86_AVX2",
        ]
        assert names(names=[""]) == []
        assert names(associated=True) == ["CUSTOM_C", "HW_CPU_X86_AVX2"]
        unassociated = names(associated=False)
        assert "CUSTOM_A_B" in unassociated and "CUSTOM_C" not in unassociated
        assert names(prefix="CUSTOM_", associated=False) == ["CUSTOM_AXB", "CUSTOM_A_B"]
        assert len(names()) == len(unassociated) + 2


def test_delete_rules(db: Database) -> None:
    with db.write() as conn:
        store.ensure(conn, "CUSTOM_FREE")
        store.ensure(conn, "CUSTOM_USED")
        store.set_provider_traits(conn, make_provider(conn, "rp"), ["CUSTOM_USED"])
    with db.write() as conn:
        with pytest.raises(exc.TraitNotFound):
            store.delete(conn, "CUSTOM_UNKNOWN")
        with pytest.raises(exc.Invalid):
            store.delete(conn, "HW_CPU_X86_AVX2")
        with pytest.raises(exc.Conflict):
            store.delete(conn, "CUSTOM_USED")
        store.delete(conn, "CUSTOM_FREE")
    with db.read() as conn:
        assert store.find(conn, "CUSTOM_FREE") is None
        assert store.find(conn, "CUSTOM_USED") is not None


def test_provider_traits_bump_generation_only_on_change(db: Database) -> None:
    with db.write() as conn:
        store.ensure(conn, "CUSTOM_X")
        provider = make_provider(conn, "rp")
        assert store.set_provider_traits(conn, provider, ["CUSTOM_X", "HW_CPU_X86_AVX2"]) == 1
        provider = rp_store.get(conn, provider.uuid)
        # The same set again (duplicates are harmless) leaves the generation alone.
        assert (
            store.set_provider_traits(conn, provider, ["HW_CPU_X86_AVX2", "CUSTOM_X", "CUSTOM_X"])
            == 1
        )
        assert rp_store.get(conn, provider.uuid).generation == 1
        assert [t.name for t in store.provider_traits(conn, provider.id)] == [
            "CUSTOM_X",
            "HW_CPU_X86_AVX2",
        ]
        assert store.set_provider_traits(conn, provider, ["HW_CPU_X86_AVX2"]) == 2
        assert rp_store.get(conn, provider.uuid).generation == 2


def test_unknown_trait_changes_nothing(db: Database) -> None:
    with db.write() as conn:
        provider = make_provider(conn, "rp")
        with pytest.raises(exc.TraitNotFound) as caught:
            store.set_provider_traits(conn, provider, ["CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2"])
        assert "CUSTOM_A, CUSTOM_B" in str(caught.value)
        assert store.provider_traits(conn, provider.id) == []
        assert rp_store.get(conn, provider.uuid).generation == 0


def test_stale_generation_is_a_concurrent_update(db: Database) -> None:
    with db.write() as conn:
        stale = make_provider(conn, "rp")
        store.set_provider_traits(conn, stale, ["HW_CPU_X86_AVX2"])
        with pytest.raises(exc.ConcurrentUpdate):
            store.set_provider_traits(conn, stale, ["HW_CPU_X86_SSE"])


def test_delete_provider_traits(db: Database) -> None:
    with db.write() as conn:
        provider = make_provider(conn, "rp")
        other = make_provider(conn, "other")
        assert store.delete_provider_traits(conn, provider) == 0  # nothing to remove
        provider = rp_store.get(conn, provider.uuid)
        store.set_provider_traits(conn, provider, ["HW_CPU_X86_AVX2"])
        store.set_provider_traits(conn, other, ["HW_CPU_X86_SSE", "HW_CPU_X86_AVX2"])
        assert store.delete_provider_traits(conn, rp_store.get(conn, provider.uuid)) == 2
        assert store.names_by_provider(conn, [provider.id, other.id]) == {
            other.id: {"HW_CPU_X86_SSE", "HW_CPU_X86_AVX2"}
        }
        assert store.names_by_provider(conn, []) == {}
