"""PlacementClient's allocation, usage, candidate and reshaper methods against the real app."""

from __future__ import annotations

import uuid

import pytest

from allotment.client import (
    AllocationWrite,
    ConcurrentUpdate,
    Conflict,
    Inventory,
    NotFound,
    PlacementClient,
    ProviderInventories,
    RequestGroup,
    ResourceProviderNotFound,
)
from tests.functional.client.cloud import (
    AGG1,
    CN1,
    INST,
    INST2,
    PF1,
    PROJECT,
    SS,
    USER,
    add_compute,
    claim,
)

# -- allocations --------------------------------------------------------------------


def test_allocations(client: PlacementClient) -> None:
    add_compute(client)
    assert not client.get_allocations(INST).exists
    client.set_allocations(
        INST,
        {CN1: {"VCPU": 2, "MEMORY_MB": 512}},
        project_id=PROJECT,
        user_id=USER,
        consumer_generation=None,
        consumer_type="INSTANCE",
    )
    held = client.get_allocations(INST)
    assert held.allocations == {CN1: {"VCPU": 2, "MEMORY_MB": 512}}
    assert (held.project_id, held.user_id, held.consumer_type) == (PROJECT, USER, "INSTANCE")
    assert held.consumer_generation == 1 and held.provider_generations == {CN1: 2}
    on_provider = client.get_provider_allocations(CN1)
    assert on_provider.generation == 2
    assert on_provider.allocations == {INST: {"VCPU": 2, "MEMORY_MB": 512}}
    assert on_provider.consumer_generations == {INST: 1}
    with pytest.raises(ConcurrentUpdate):
        client.set_allocations(
            INST,
            {CN1: {"VCPU": 1}},
            project_id=PROJECT,
            user_id=USER,
            consumer_generation=None,
            consumer_type="INSTANCE",
        )
    with pytest.raises(Conflict) as info:  # more than the capacity
        client.set_allocations(
            INST,
            {CN1: {"VCPU": 99}},
            project_id=PROJECT,
            user_id=USER,
            consumer_generation=1,
            consumer_type="INSTANCE",
        )
    assert type(info.value) is Conflict
    client.delete_allocations(INST)
    assert not client.get_allocations(INST).exists
    with pytest.raises(NotFound):
        client.delete_allocations(INST)


def test_allocations_at_old_microversions(client: PlacementClient) -> None:
    add_compute(client)
    client.set_allocations(INST, {CN1: {"VCPU": 1}}, microversion="1.0")
    assert client.get_allocations(INST).allocations == {CN1: {"VCPU": 1}}
    client.set_allocations(
        INST, {CN1: {"VCPU": 2}}, project_id=PROJECT, user_id=USER, microversion="1.8"
    )
    client.set_allocations(
        INST2, {CN1: {"VCPU": 1}}, project_id=PROJECT, user_id=USER, microversion="1.12"
    )
    assert client.get_usages(PROJECT, microversion="1.9") == {"VCPU": 3}
    with pytest.raises(ValueError):
        client.set_allocations(INST, {CN1: {"VCPU": 1}}, microversion="1.8")
    with pytest.raises(ValueError):
        client.set_allocations(
            INST, {CN1: {"VCPU": 1}}, project_id=PROJECT, user_id=USER, consumer_generation=2
        )


def test_post_allocations(client: PlacementClient) -> None:
    add_compute(client)
    claim(client)
    migration = str(uuid.uuid4())
    client.post_allocations(
        {
            INST: AllocationWrite({}, PROJECT, USER, 1, "INSTANCE"),
            migration: AllocationWrite({CN1: {"VCPU": 2}}, PROJECT, USER, None, "MIGRATION"),
        }
    )
    assert not client.get_allocations(INST).exists
    moved = client.get_allocations(migration)
    assert moved.allocations == {CN1: {"VCPU": 2}} and moved.consumer_type == "MIGRATION"
    with pytest.raises(NotFound):  # the route starts at 1.13
        client.post_allocations(
            {INST: AllocationWrite({CN1: {"VCPU": 1}}, PROJECT, USER)}, microversion="1.12"
        )


# -- usages -------------------------------------------------------------------------


def test_usages(client: PlacementClient) -> None:
    add_compute(client)
    claim(client, INST, vcpu=2)
    client.set_allocations(
        INST2,
        {CN1: {"VCPU": 1, "MEMORY_MB": 256}},
        project_id=PROJECT,
        user_id="user-2",
        consumer_generation=None,
        consumer_type="MIGRATION",
    )
    usage = client.get_provider_usages(CN1)
    assert usage.usages == {"VCPU": 3, "MEMORY_MB": 256} and usage.generation == 3
    assert client.get_usages(PROJECT, microversion="1.37") == {"VCPU": 3, "MEMORY_MB": 256}
    assert client.get_usages(PROJECT, user_id="user-2", microversion="1.9") == {
        "VCPU": 1,
        "MEMORY_MB": 256,
    }
    grouped = client.get_usages(PROJECT)
    assert grouped == {
        "INSTANCE": {"VCPU": 2, "consumer_count": 1},
        "MIGRATION": {"VCPU": 1, "MEMORY_MB": 256, "consumer_count": 1},
    }
    assert client.get_usages(PROJECT, consumer_type="all") == {
        "all": {"VCPU": 3, "MEMORY_MB": 256, "consumer_count": 2}
    }
    assert client.get_usages("nobody") == {}


# -- allocation candidates ----------------------------------------------------------


def _tree_with_sharing(client: PlacementClient) -> None:
    add_compute(client)
    client.set_aggregates(CN1, [AGG1], 1)
    client.set_provider_traits(CN1, ["HW_CPU_X86_AVX2"], 2)
    client.create_provider("pf1", uuid=PF1, parent_provider_uuid=CN1)
    client.set_inventories(PF1, {"SRIOV_NET_VF": 4}, 0)
    client.create_provider("ss", uuid=SS)
    client.set_inventories(SS, {"DISK_GB": 1000}, 0)
    client.set_aggregates(SS, [AGG1], 1)
    client.set_provider_traits(SS, ["MISC_SHARES_VIA_AGGREGATE"], 2)


def test_allocation_candidates(client: PlacementClient) -> None:
    _tree_with_sharing(client)
    found = client.get_allocation_candidates(
        resources={"VCPU": 1, "DISK_GB": 10}, required=["HW_CPU_X86_AVX2"]
    )
    assert [r.allocations for r in found.allocation_requests] == [
        {CN1: {"VCPU": 1}, SS: {"DISK_GB": 10}}
    ]
    assert sorted(found.allocation_requests[0].mappings[""]) == sorted([CN1, SS])
    summary = found.provider_summaries[CN1]
    assert summary.resources["VCPU"].capacity == 8 and summary.resources["VCPU"].used == 0
    assert "HW_CPU_X86_AVX2" in (summary.traits or set())
    assert found.provider_summaries[PF1].parent_provider_uuid == CN1
    groups = client.get_allocation_candidates(
        [
            RequestGroup(resources={"VCPU": 1}),
            RequestGroup(resources={"SRIOV_NET_VF": 1}, suffix="_NIC", in_tree=CN1),
        ],
        group_policy="isolate",
        limit=5,
    )
    assert [r.allocations for r in groups.allocation_requests] == [
        {CN1: {"VCPU": 1}, PF1: {"SRIOV_NET_VF": 1}}
    ]
    assert groups.allocation_requests[0].mappings == {"": [CN1], "_NIC": [PF1]}
    assert (
        client.get_allocation_candidates(
            resources={"VCPU": 1}, root_required=["!HW_CPU_X86_AVX2"]
        ).allocation_requests
        == []
    )
    assert client.get_allocation_candidates(
        resources={"VCPU": 1}, member_of=[AGG1]
    ).allocation_requests[0].allocations == {CN1: {"VCPU": 1}}
    subtree = client.get_allocation_candidates(
        [
            RequestGroup(resources={"SRIOV_NET_VF": 1}, suffix="1"),
            RequestGroup(required=["HW_CPU_X86_AVX2"], suffix="2"),
        ],
        group_policy="none",
        same_subtree=[["1", "2"]],
    )
    assert [r.mappings for r in subtree.allocation_requests] == [{"1": [PF1], "2": [CN1]}]
    any_of = client.get_allocation_candidates(
        [RequestGroup(resources={"VCPU": 1}, required_any=[["HW_CPU_X86_SSE", "HW_CPU_X86_AVX2"]])]
    )
    assert len(any_of.allocation_requests) == 1


def test_allocation_candidates_list_form_below_1_12(client: PlacementClient) -> None:
    add_compute(client)
    found = client.get_allocation_candidates(resources={"VCPU": 1}, microversion="1.10")
    assert found.allocation_requests[0].allocations == {CN1: {"VCPU": 1}}
    assert found.provider_summaries[CN1].traits is None


def test_allocation_candidates_query_errors(client: PlacementClient) -> None:
    from allotment.client import BadQueryValue, DuplicateQueryKey, MissingQueryValue

    with pytest.raises(MissingQueryValue):
        client.get_allocation_candidates(limit=1)
    with pytest.raises(DuplicateQueryKey):
        client.request(
            "GET",
            "/allocation_candidates",
            params=[
                ("resources", "VCPU:1"),
                ("root_required", "HW_CPU_X86_AVX2"),
                ("root_required", "HW_CPU_X86_AVX2"),
            ],
        )
    with pytest.raises(BadQueryValue):
        client.get_allocation_candidates(
            [
                RequestGroup(resources={"VCPU": 1}, suffix="1"),
                RequestGroup(required=["HW_CPU_X86_AVX2"], suffix="2"),
            ],
            group_policy="none",
        )


# -- reshaper -----------------------------------------------------------------------


def test_reshape(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    client.set_inventories(CN1, {"VCPU": 8, "VGPU": 4}, 0)
    client.set_allocations(
        INST,
        {CN1: {"VCPU": 1, "VGPU": 1}},
        project_id=PROJECT,
        user_id=USER,
        consumer_generation=None,
        consumer_type="INSTANCE",
    )
    client.create_provider("gpu0", uuid=PF1, parent_provider_uuid=CN1)
    client.reshape(
        inventories={
            CN1: ProviderInventories(2, {"VCPU": Inventory(8)}),
            PF1: ProviderInventories(0, {"VGPU": Inventory(4)}),
        },
        allocations={
            INST: AllocationWrite(
                {CN1: {"VCPU": 1}, PF1: {"VGPU": 1}}, PROJECT, USER, 1, "INSTANCE"
            )
        },
    )
    assert set(client.get_inventories(CN1).inventories) == {"VCPU"}
    assert client.get_allocations(INST).allocations == {CN1: {"VCPU": 1}, PF1: {"VGPU": 1}}
    with pytest.raises(ResourceProviderNotFound) as info:
        client.reshape({str(uuid.uuid4()): ProviderInventories(0, {})}, {})
    assert info.value.status == 400
    with pytest.raises(ConcurrentUpdate):
        client.reshape({CN1: ProviderInventories(0, {"VCPU": Inventory(8)})}, {})
