"""The compute-service operations against the real app, including injected races."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from allotment.client import (
    AllocationRequest,
    ConcurrentUpdate,
    Conflict,
    DuplicateName,
    Inventory,
    InventoryInUse,
    PlacementClient,
    ProviderSpec,
)

CN1 = "11111111-1111-4111-8111-111111111111"
CN2 = "22222222-2222-4222-8222-222222222222"
PF1 = "33333333-3333-4333-8333-333333333333"
AGG1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
INST = "55555555-5555-4555-8555-555555555555"
MIGR = "77777777-7777-4777-8777-777777777777"
PROJECT, USER = "project-1", "user-1"


def race(
    monkeypatch: pytest.MonkeyPatch,
    client: PlacementClient,
    method: str,
    concurrent_write: Callable[[], Any],
    times: int = 1,
) -> list[int]:
    """Run ``concurrent_write`` just before the first ``times`` calls of ``method``.

    That is what another service writing between our read and our write looks like.
    Returns the list of calls (its length is the number of attempts).
    """
    original = getattr(client, method)
    calls: list[int] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            concurrent_write()
        return original(*args, **kwargs)

    monkeypatch.setattr(client, method, wrapper)
    return calls


def tree() -> ProviderSpec:
    return ProviderSpec(
        "cn1",
        uuid=CN1,
        inventories={"VCPU": 8, "MEMORY_MB": Inventory(total=4096)},
        traits=["HW_CPU_X86_AVX2"],
        aggregates=[AGG1],
        children=[ProviderSpec("cn1-gpu0", uuid=PF1, inventories={"VGPU": 2})],
    )


def _bump(client: PlacementClient, rp: str) -> Callable[[], Any]:
    """A concurrent writer that bumps the provider's generation (aggregate PUT)."""

    def write() -> None:
        current = client.get_aggregates(rp)
        client.set_aggregates(rp, sorted(current.aggregates), current.generation)

    return write


# -- ensure_provider_tree --------------------------------------------------------------


def test_ensure_provider_tree_creates_then_is_idempotent(client: PlacementClient) -> None:
    made = client.ensure_provider_tree(tree())
    assert set(made) == {"cn1", "cn1-gpu0"}
    assert made["cn1-gpu0"].parent_provider_uuid == CN1
    assert set(client.get_inventories(CN1).inventories) == {"VCPU", "MEMORY_MB"}
    assert client.get_provider_traits(CN1).traits == {"HW_CPU_X86_AVX2"}
    assert client.get_aggregates(CN1).aggregates == {AGG1}
    assert client.get_inventories(PF1).inventories == {"VGPU": Inventory(total=2)}
    again = client.ensure_provider_tree(tree())
    assert again == made  # nothing written: generations unchanged


def test_ensure_provider_tree_by_name_renames_and_reparents(client: PlacementClient) -> None:
    client.create_provider("cn2", uuid=CN2)
    made = client.ensure_provider_tree(ProviderSpec("cn2", children=[ProviderSpec("nic")]))
    assert made["cn2"].uuid == CN2 and made["nic"].parent_provider_uuid == CN2
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1))
    moved = client.ensure_provider_tree(
        ProviderSpec("cn1", uuid=CN1, children=[ProviderSpec("nic-renamed", uuid=made["nic"].uuid)])
    )
    assert moved["nic-renamed"].parent_provider_uuid == CN1
    assert moved["nic-renamed"].root_provider_uuid == CN1


def test_ensure_provider_tree_survives_a_concurrent_creator(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = race(
        monkeypatch,
        client,
        "create_provider",
        lambda: PlacementClient.create_provider(client, "cn1", uuid=CN1),
    )
    made = client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1))
    assert made["cn1"].uuid == CN1 and len(calls) == 1


def test_ensure_provider_tree_name_taken_by_another_uuid(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN2)
    with pytest.raises(DuplicateName):
        client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1))


# -- set_inventory / set_traits / replace_aggregates -------------------------------------


def test_set_inventory_writes_only_changes(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    first = client.set_inventory(CN1, {"VCPU": 8})
    assert first.generation == 1
    assert client.set_inventory(CN1, {"VCPU": Inventory(total=8)}).generation == 1
    assert client.set_inventory(CN1, {"VCPU": 16}).generation == 2


def test_set_inventory_retries_after_a_concurrent_write(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create_provider("cn1", uuid=CN1)
    calls = race(monkeypatch, client, "set_inventories", _bump(client, CN1))
    result = client.set_inventory(CN1, {"VCPU": 8})
    assert len(calls) == 2
    assert result.inventories == {"VCPU": Inventory(total=8)}
    assert client.get_aggregates(CN1).generation == result.generation


def test_set_inventory_gives_up_after_retries(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create_provider("cn1", uuid=CN1)
    client.retries = 2
    calls = race(monkeypatch, client, "set_inventories", _bump(client, CN1), times=10)
    with pytest.raises(ConcurrentUpdate):
        client.set_inventory(CN1, {"VCPU": 8})
    assert len(calls) == 3


def test_set_inventory_does_not_retry_inventory_in_use(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 8}))
    client.claim(INST, {CN1: {"VCPU": 1}}, project_id=PROJECT, user_id=USER)
    calls = race(monkeypatch, client, "set_inventories", lambda: None)
    with pytest.raises(InventoryInUse):
        client.set_inventory(CN1, {"MEMORY_MB": 1024})
    assert len(calls) == 1


def test_set_traits_and_aggregates_retry(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create_provider("cn1", uuid=CN1)
    trait_calls = race(monkeypatch, client, "set_provider_traits", _bump(client, CN1))
    assert client.set_traits(CN1, ["HW_CPU_X86_AVX2"]).traits == {"HW_CPU_X86_AVX2"}
    assert len(trait_calls) == 2
    generation = client.get_provider(CN1).generation
    assert client.set_traits(CN1, ["HW_CPU_X86_AVX2"]).generation == generation  # no write

    def bump_traits() -> None:
        current = client.get_provider_traits(CN1)
        PlacementClient.set_provider_traits(client, CN1, [], current.generation)
        PlacementClient.set_provider_traits(
            client, CN1, ["HW_CPU_X86_AVX2"], current.generation + 1
        )

    agg_calls = race(monkeypatch, client, "set_aggregates", bump_traits)
    assert client.replace_aggregates(CN1, [AGG1]).aggregates == {AGG1}
    assert len(agg_calls) == 2
    generation = client.get_provider(CN1).generation
    assert client.replace_aggregates(CN1, [AGG1]).generation == generation


# -- claim ------------------------------------------------------------------------------


def test_claim_a_candidate(client: PlacementClient) -> None:
    client.ensure_provider_tree(tree())
    candidates = client.get_allocation_candidates(resources={"VCPU": 2, "VGPU": 1})
    assert len(candidates.allocation_requests) == 1
    chosen = candidates.allocation_requests[0]
    held = client.claim(INST, chosen, project_id=PROJECT, user_id=USER)
    assert held.allocations == {CN1: {"VCPU": 2}, PF1: {"VGPU": 1}}
    assert held.consumer_generation == 1 and held.consumer_type == "INSTANCE"
    with pytest.raises(ConcurrentUpdate):  # the consumer exists: never replayed
        client.claim(INST, chosen, project_id=PROJECT, user_id=USER)


def test_claim_conflict_when_resources_are_gone(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 2}))
    chosen = client.get_allocation_candidates(resources={"VCPU": 2}).allocation_requests[0]
    other = str(uuid.uuid4())
    calls = race(
        monkeypatch,
        client,
        "set_allocations",
        lambda: PlacementClient.set_allocations(
            client,
            other,
            {CN1: {"VCPU": 1}},
            project_id=PROJECT,
            user_id=USER,
            consumer_generation=None,
            consumer_type="INSTANCE",
        ),
    )
    with pytest.raises(Conflict) as info:
        client.claim(INST, chosen, project_id=PROJECT, user_id=USER)
    assert not isinstance(info.value, ConcurrentUpdate)
    assert len(calls) == 1
    assert not client.get_allocations(INST).exists


def test_claim_needs_consumer_generations(client: PlacementClient) -> None:
    with pytest.raises(ValueError):
        client.claim(
            INST,
            AllocationRequest({CN1: {"VCPU": 1}}),
            project_id=PROJECT,
            user_id=USER,
            microversion="1.27",
        )


# -- move_allocations ---------------------------------------------------------------------


def test_move_allocations_to_a_migration(client: PlacementClient) -> None:
    client.ensure_provider_tree(tree())
    client.claim(INST, {CN1: {"VCPU": 2}, PF1: {"VGPU": 1}}, project_id=PROJECT, user_id=USER)
    assert client.move_allocations(INST, MIGR, consumer_type="MIGRATION") is True
    assert not client.get_allocations(INST).exists
    moved = client.get_allocations(MIGR)
    assert moved.allocations == {CN1: {"VCPU": 2}, PF1: {"VGPU": 1}}
    assert (moved.project_id, moved.user_id, moved.consumer_type) == (PROJECT, USER, "MIGRATION")
    # And back: the instance is re-created with its old type from the migration's owner.
    assert client.move_allocations(MIGR, INST, consumer_type="INSTANCE") is True
    assert client.get_allocations(INST).consumer_type == "INSTANCE"
    assert client.move_allocations(MIGR, INST) is False  # nothing left to move


def test_move_allocations_replaces_target_and_retries(
    client: PlacementClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 8}))
    client.claim(INST, {CN1: {"VCPU": 2}}, project_id=PROJECT, user_id=USER)
    client.claim(
        MIGR, {CN1: {"VCPU": 1}}, project_id=PROJECT, user_id=USER, consumer_type="MIGRATION"
    )

    def grow_source() -> None:
        current = client.get_allocations(INST)
        PlacementClient.set_allocations(
            client,
            INST,
            {CN1: {"VCPU": 3}},
            project_id=PROJECT,
            user_id=USER,
            consumer_generation=current.consumer_generation,
            consumer_type="INSTANCE",
        )

    calls = race(monkeypatch, client, "post_allocations", grow_source)
    assert client.move_allocations(INST, MIGR) is True
    assert len(calls) == 2
    moved = client.get_allocations(MIGR)
    assert moved.allocations == {CN1: {"VCPU": 3}} and moved.consumer_type == "MIGRATION"


def test_move_untyped_consumer_needs_a_type(client: PlacementClient) -> None:
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 8}))
    client.set_allocations(
        INST,
        {CN1: {"VCPU": 1}},
        project_id=PROJECT,
        user_id=USER,
        consumer_generation=None,
        microversion="1.37",
    )
    assert client.get_allocations(INST).consumer_type == "unknown"
    with pytest.raises(ValueError):
        client.move_allocations(INST, MIGR)
    assert client.move_allocations(INST, MIGR, consumer_type="MIGRATION")
    assert client.get_allocations(MIGR).consumer_type == "MIGRATION"


# -- heal_allocations / remove_allocations ------------------------------------------------


def test_heal_allocations(client: PlacementClient, monkeypatch: pytest.MonkeyPatch) -> None:
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 8}))
    want = {CN1: {"VCPU": 2}}
    assert client.heal_allocations(INST, want, project_id=PROJECT, user_id=USER) is True
    assert client.heal_allocations(INST, want, project_id=PROJECT, user_id=USER) is False
    # Wrong owner: fixed while keeping the allocations.
    assert client.heal_allocations(INST, None, project_id="project-2", user_id=USER) is True
    healed = client.get_allocations(INST)
    assert healed.allocations == want and healed.project_id == "project-2"

    def shrink() -> None:
        current = client.get_allocations(INST)
        PlacementClient.set_allocations(
            client,
            INST,
            {CN1: {"VCPU": 1}},
            project_id="project-2",
            user_id=USER,
            consumer_generation=current.consumer_generation,
            consumer_type="INSTANCE",
        )

    calls = race(monkeypatch, client, "set_allocations", shrink)
    assert (
        client.heal_allocations(INST, {CN1: {"VCPU": 4}}, project_id="project-2", user_id=USER)
        is True
    )
    assert len(calls) == 2
    assert client.get_allocations(INST).allocations == {CN1: {"VCPU": 4}}
    with pytest.raises(ValueError):
        client.heal_allocations(MIGR, None, project_id=PROJECT, user_id=USER)


def test_remove_allocations_bumps_provider_generation(client: PlacementClient) -> None:
    client.ensure_provider_tree(ProviderSpec("cn1", uuid=CN1, inventories={"VCPU": 8}))
    client.claim(INST, {CN1: {"VCPU": 2}}, project_id=PROJECT, user_id=USER)
    before = client.get_provider(CN1).generation
    assert client.remove_allocations(INST) is True
    assert not client.get_allocations(INST).exists
    assert client.get_provider(CN1).generation == before + 1
    assert client.remove_allocations(INST) is False
