"""PlacementClient's provider, inventory, aggregate, trait and class methods (real app)."""

from __future__ import annotations

import uuid

import pytest

from allotment.client import (
    BadRequest,
    CannotDeleteParent,
    ConcurrentUpdate,
    Conflict,
    DuplicateName,
    Inventory,
    InventoryInUse,
    MethodNotAllowed,
    NotFound,
    PlacementClient,
    ResourceProviderInUse,
)
from tests.functional.client.cloud import (
    AGG1,
    AGG2,
    CN1,
    CN2,
    PF1,
    add_compute,
    claim,
)

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
    assert info.value.status == 404
    assert (info.value.request_id or "").startswith("req-")


def test_create_provider_below_1_20_reads_it_back(client: PlacementClient) -> None:
    rp = client.create_provider("old", microversion="1.14")
    assert rp.name == "old" and rp.generation == 0 and rp.root_provider_uuid == rp.uuid
    generated = client.create_provider("older", microversion="1.0")
    assert generated.root_provider_uuid is None  # not shown below 1.14
    assert client.get_provider(generated.uuid).root_provider_uuid == generated.uuid


def test_list_provider_filters(client: PlacementClient) -> None:
    add_compute(client)
    add_compute(client, CN2, "cn2", vcpu=1)
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
    add_compute(client)
    client.create_provider("pf1", uuid=PF1, parent_provider_uuid=CN1)
    with pytest.raises(CannotDeleteParent):
        client.delete_provider(CN1)
    client.delete_provider(PF1)
    claim(client)
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
    add_compute(client)
    with pytest.raises(ConcurrentUpdate) as info:
        client.set_inventories(CN1, {"VCPU": 1}, 0)
    assert info.value.code == "placement.concurrent_update"
    with pytest.raises(ConcurrentUpdate):
        client.update_inventory(CN1, "VCPU", 4, 0)
    with pytest.raises(ConcurrentUpdate):  # POST of a class already present
        client.add_inventory(CN1, "VCPU", 4)
    claim(client)
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
