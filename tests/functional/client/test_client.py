"""Every typed method of PlacementClient against the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from allotment.client import (
    AllocationWrite,
    BadRequest,
    CannotDeleteParent,
    ConcurrentUpdate,
    Conflict,
    DuplicateName,
    Forbidden,
    Inventory,
    InventoryInUse,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PlacementClient,
    ProviderInventories,
    RequestGroup,
    ResourceProviderInUse,
    ResourceProviderNotFound,
)
from allotment.http import microversion as mv
from allotment.testing import PlacementService

CN1 = "11111111-1111-4111-8111-111111111111"
CN2 = "22222222-2222-4222-8222-222222222222"
PF1 = "33333333-3333-4333-8333-333333333333"
SS = "44444444-4444-4444-8444-444444444444"
AGG1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
AGG2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
INST = "55555555-5555-4555-8555-555555555555"
INST2 = "66666666-6666-4666-8666-666666666666"
PROJECT, USER = "project-1", "user-1"


def _compute(client: PlacementClient, uuid_: str = CN1, name: str = "cn1", vcpu: int = 8) -> None:
    client.create_provider(name, uuid=uuid_)
    client.set_inventories(uuid_, {"VCPU": vcpu, "MEMORY_MB": Inventory(total=2048)}, 0)


def _claim(client: PlacementClient, consumer: str = INST, rp: str = CN1, vcpu: int = 2) -> None:
    client.set_allocations(
        consumer,
        {rp: {"VCPU": vcpu}},
        project_id=PROJECT,
        user_id=USER,
        consumer_generation=None,
        consumer_type="INSTANCE",
    )


# -- root ---------------------------------------------------------------------------


def test_versions(client: PlacementClient) -> None:
    assert client.get_versions()["versions"][0]["min_version"] == "1.0"
    assert client.max_microversion() == str(mv.MAX_VERSION)


# -- providers ----------------------------------------------------------------------


def test_provider_crud(client: PlacementClient) -> None:
    root = client.create_provider("cn1", uuid=CN1)
    assert (root.uuid, root.name, root.generation) == (CN1, "cn1", 0)
    assert root.root_provider_uuid == CN1 and root.parent_provider_uuid is None
    child = client.create_provider("cn1-pf1", uuid=PF1, parent_provider_uuid=CN1)
    assert child.parent_provider_uuid == CN1 and child.root_provider_uuid == CN1
    assert client.get_provider(PF1) == child
    assert client.find_provider(str(uuid.uuid4())) is None
    assert {rp.uuid for rp in client.get_provider_tree(PF1)} == {CN1, PF1}
    renamed = client.update_provider(PF1, "pf-renamed")
    assert renamed.name == "pf-renamed" and renamed.parent_provider_uuid == CN1
    unparented = client.update_provider(PF1, "pf-renamed", parent_provider_uuid=None)
    assert unparented.parent_provider_uuid is None and unparented.root_provider_uuid == PF1
    client.delete_provider(PF1)
    assert client.find_provider(PF1) is None
    with pytest.raises(NotFound) as info:
        client.get_provider(PF1)
    assert info.value.status == 404 and info.value.request_id.startswith("req-")


def test_create_provider_below_1_20_reads_it_back(client: PlacementClient) -> None:
    rp = client.create_provider("old", microversion="1.14")
    assert rp.name == "old" and rp.generation == 0 and rp.root_provider_uuid == rp.uuid
    generated = client.create_provider("older", microversion="1.0")
    assert generated.root_provider_uuid is None  # not shown below 1.14
    assert client.get_provider(generated.uuid).root_provider_uuid == generated.uuid


def test_list_provider_filters(client: PlacementClient) -> None:
    _compute(client)
    _compute(client, CN2, "cn2", vcpu=1)
    client.set_aggregates(CN1, [AGG1], 1)
    client.set_provider_traits(CN2, ["HW_CPU_X86_AVX2"], 1)
    assert [rp.uuid for rp in client.list_providers(name="cn2")] == [CN2]
    assert [rp.uuid for rp in client.list_providers(uuid=CN1)] == [CN1]
    assert [rp.uuid for rp in client.list_providers(member_of=[AGG1])] == [CN1]
    assert [rp.uuid for rp in client.list_providers(member_of=[f"!{AGG1}"])] == [CN2]
    assert [rp.uuid for rp in client.list_providers(resources={"VCPU": 4})] == [CN1]
    assert [rp.uuid for rp in client.list_providers(required=["HW_CPU_X86_AVX2"])] == [CN2]
    assert [rp.uuid for rp in client.list_providers(required=["!HW_CPU_X86_AVX2"])] == [CN1]
    assert [rp.uuid for rp in client.list_providers(in_tree=CN2)] == [CN2]


def test_duplicate_name(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    with pytest.raises(DuplicateName) as info:
        client.create_provider("cn1")
    assert isinstance(info.value, Conflict)
    assert info.value.status == 409 and info.value.code == "placement.duplicate_name"


def test_delete_provider_conflicts(client: PlacementClient) -> None:
    _compute(client)
    client.create_provider("pf1", uuid=PF1, parent_provider_uuid=CN1)
    with pytest.raises(CannotDeleteParent):
        client.delete_provider(CN1)
    client.delete_provider(PF1)
    _claim(client)
    with pytest.raises(ResourceProviderInUse):
        client.delete_provider(CN1)


# -- inventories --------------------------------------------------------------------


def test_inventories(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    vcpu = Inventory(total=16, reserved=2, max_unit=8, allocation_ratio=4.0)
    written = client.set_inventories(CN1, {"VCPU": vcpu, "DISK_GB": 100}, 0)
    assert written.generation == 1
    assert written.inventories == {"VCPU": vcpu, "DISK_GB": Inventory(total=100)}
    assert client.get_inventories(CN1) == written
    assert vcpu.capacity == 56
    added = client.add_inventory(CN1, "MEMORY_MB", {"total": 4096, "reserved": 512})
    assert added.generation == 2 and added.inventory.reserved == 512
    single = client.get_inventory(CN1, "MEMORY_MB")
    assert single.resource_class == "MEMORY_MB" and single.inventory.total == 4096
    updated = client.update_inventory(CN1, "MEMORY_MB", Inventory(total=8192), 2)
    assert updated.generation == 3 and updated.inventory == Inventory(total=8192)
    client.delete_inventory(CN1, "DISK_GB")
    assert set(client.get_inventories(CN1).inventories) == {"VCPU", "MEMORY_MB"}
    client.delete_inventories(CN1)
    assert client.get_inventories(CN1).inventories == {}
    with pytest.raises(NotFound):
        client.get_inventory(CN1, "VCPU")


def test_inventory_conflicts(client: PlacementClient) -> None:
    _compute(client)
    with pytest.raises(ConcurrentUpdate) as info:
        client.set_inventories(CN1, {"VCPU": 1}, 0)
    assert info.value.code == "placement.concurrent_update"
    with pytest.raises(ConcurrentUpdate):
        client.update_inventory(CN1, "VCPU", 4, 0)
    with pytest.raises(ConcurrentUpdate):  # POST of a class already present
        client.add_inventory(CN1, "VCPU", 4)
    _claim(client)
    with pytest.raises(InventoryInUse):
        client.set_inventories(CN1, {"MEMORY_MB": 2048}, 2)
    with pytest.raises(InventoryInUse):
        client.delete_inventories(CN1)
    with pytest.raises(ConcurrentUpdate):  # upstream's code for a single in-use class
        client.delete_inventory(CN1, "VCPU")
    with pytest.raises(BadRequest):
        client.set_inventories(CN1, {"NOT_A_CLASS": 1}, client.get_inventories(CN1).generation)


def test_delete_inventories_below_1_5_is_405(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    with pytest.raises(MethodNotAllowed):
        client.delete_inventories(CN1, microversion="1.4")


# -- aggregates ---------------------------------------------------------------------


def test_aggregates(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    empty = client.get_aggregates(CN1)
    assert empty.aggregates == frozenset() and empty.generation == 0
    written = client.set_aggregates(CN1, [AGG1, AGG2], 0)
    assert written.aggregates == {AGG1, AGG2} and written.generation == 1
    assert client.get_aggregates(CN1) == written
    with pytest.raises(ConcurrentUpdate):
        client.set_aggregates(CN1, [AGG1], 0)
    with pytest.raises(ValueError):
        client.set_aggregates(CN1, [AGG1])


def test_aggregates_before_1_19(client: PlacementClient) -> None:
    client.create_provider("cn1", uuid=CN1)
    old = client.set_aggregates(CN1, [AGG1], microversion="1.1")
    assert old.aggregates == {AGG1} and old.generation is None
    assert client.get_aggregates(CN1, microversion="1.18").generation is None
    assert client.get_provider(CN1).generation == 0  # not bumped below 1.19


# -- traits -------------------------------------------------------------------------


def test_traits(client: PlacementClient) -> None:
    assert client.create_trait("CUSTOM_GOLD") is True
    assert client.create_trait("CUSTOM_GOLD") is False
    assert client.trait_exists("CUSTOM_GOLD") and not client.trait_exists("CUSTOM_NOPE")
    assert client.list_traits(startswith="CUSTOM_") == ["CUSTOM_GOLD"]
    assert set(client.list_traits(names=["CUSTOM_GOLD", "HW_CPU_X86_AVX2"])) == {
        "CUSTOM_GOLD",
        "HW_CPU_X86_AVX2",
    }
    assert "HW_CPU_X86_AVX2" in client.list_traits()
    client.create_provider("cn1", uuid=CN1)
    written = client.set_provider_traits(CN1, ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"], 0)
    assert written.traits == {"CUSTOM_GOLD", "HW_CPU_X86_AVX2"} and written.generation == 1
    assert client.get_provider_traits(CN1) == written
    assert client.list_traits(associated=True, startswith="CUSTOM_") == ["CUSTOM_GOLD"]
    assert "CUSTOM_GOLD" not in client.list_traits(associated=False)
    with pytest.raises(Conflict):
        client.delete_trait("CUSTOM_GOLD")
    with pytest.raises(ConcurrentUpdate):
        client.set_provider_traits(CN1, [], 0)
    with pytest.raises(BadRequest):
        client.set_provider_traits(CN1, ["CUSTOM_UNKNOWN"], 1)
    client.delete_provider_traits(CN1)
    assert client.get_provider_traits(CN1).traits == frozenset()
    client.delete_trait("CUSTOM_GOLD")
    with pytest.raises(NotFound):
        client.delete_trait("CUSTOM_GOLD")
    with pytest.raises(BadRequest):
        client.delete_trait("HW_CPU_X86_AVX2")


# -- resource classes ---------------------------------------------------------------


def test_resource_classes(client: PlacementClient) -> None:
    names = client.list_resource_classes()
    assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"]
    client.create_resource_class("CUSTOM_FPGA")
    with pytest.raises(Conflict):
        client.create_resource_class("CUSTOM_FPGA")
    assert client.get_resource_class("CUSTOM_FPGA") == "CUSTOM_FPGA"
    assert client.ensure_resource_class("CUSTOM_FPGA") is False
    assert client.ensure_resource_class("CUSTOM_GPU") is True
    assert client.resource_class_exists("CUSTOM_GPU")
    assert client.rename_resource_class("CUSTOM_GPU", "CUSTOM_VGPU") == "CUSTOM_VGPU"
    assert not client.resource_class_exists("CUSTOM_GPU")
    with pytest.raises(ValueError):
        client.rename_resource_class("CUSTOM_VGPU", "CUSTOM_X", microversion="1.7")
    assert client.list_resource_classes()[-2:] == ["CUSTOM_FPGA", "CUSTOM_VGPU"]
    client.create_provider("cn1", uuid=CN1)
    client.set_inventories(CN1, {"CUSTOM_FPGA": 2}, 0)
    with pytest.raises(Conflict):
        client.delete_resource_class("CUSTOM_FPGA")
    client.delete_resource_class("CUSTOM_VGPU")
    with pytest.raises(NotFound):
        client.get_resource_class("CUSTOM_VGPU")
    with pytest.raises(BadRequest):
        client.delete_resource_class("VCPU")


# -- allocations --------------------------------------------------------------------


def test_allocations(client: PlacementClient) -> None:
    _compute(client)
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
    _compute(client)
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
    _compute(client)
    _claim(client)
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
    _compute(client)
    _claim(client, INST, vcpu=2)
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
    _compute(client)
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
    _compute(client)
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


# -- protocol -----------------------------------------------------------------------


def test_errors_carry_status_code_detail_and_request_id(client: PlacementClient) -> None:
    with pytest.raises(NotFound) as info:
        client.get_inventories(str(uuid.uuid4()))
    error = info.value
    assert error.status == 404 and error.code == "placement.undefined_code"
    assert error.title == "Not Found" and error.detail
    assert error.request_id and error.request_id.startswith("req-")
    assert error.method == "GET" and "/inventories" in (error.url or "")
    assert "404" in str(error)
    with pytest.raises(NotFound) as old:  # no error codes below 1.23
        client.get_provider(str(uuid.uuid4()), microversion="1.22")
    assert old.value.code is None


def test_microversion_out_of_range(client: PlacementClient) -> None:
    with pytest.raises(NotAcceptable):
        client.list_providers(microversion="1.99")


def test_microversion_per_client(service: PlacementService) -> None:
    with service.client(microversion="1.5") as old:
        assert old.version() == (1, 5)
        with pytest.raises(NotFound):  # /traits starts at 1.6
            old.list_traits()
        assert old.list_traits(microversion="1.6")


def test_policy_denied_is_forbidden(service: PlacementService) -> None:
    with service.client() as anonymous:
        anonymous.token = "someone:project-1"
        with pytest.raises(Forbidden) as info:
            anonymous.list_providers()
        assert info.value.status == 403
