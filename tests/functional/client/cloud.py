"""The little cloud the client tests share: fixed uuids and two setup steps."""

from __future__ import annotations

from allotment.client import Inventory, PlacementClient

CN1 = "11111111-1111-4111-8111-111111111111"
CN2 = "22222222-2222-4222-8222-222222222222"
PF1 = "33333333-3333-4333-8333-333333333333"
SS = "44444444-4444-4444-8444-444444444444"
AGG1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
AGG2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
INST = "55555555-5555-4555-8555-555555555555"
INST2 = "66666666-6666-4666-8666-666666666666"
PROJECT, USER = "project-1", "user-1"


def add_compute(
    client: PlacementClient, uuid_: str = CN1, name: str = "cn1", vcpu: int = 8
) -> None:
    client.create_provider(name, uuid=uuid_)
    client.set_inventories(uuid_, {"VCPU": vcpu, "MEMORY_MB": Inventory(total=2048)}, 0)


def claim(client: PlacementClient, consumer: str = INST, rp: str = CN1, vcpu: int = 2) -> None:
    client.set_allocations(
        consumer,
        {rp: {"VCPU": vcpu}},
        project_id=PROJECT,
        user_id=USER,
        consumer_generation=None,
        consumer_type="INSTANCE",
    )
