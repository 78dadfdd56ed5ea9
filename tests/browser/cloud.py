"""A small seeded cloud for the console's browser tests and screenshots.

``seed(base_url)`` builds it through the public API only: six computes (two
with NUMA children carrying PCPU), a sharing storage provider in the
computes' aggregate, a provider without inventory and eight consumers.
``serve(tmp)`` starts ``allotment serve`` on a free port with its own
SQLite file; the caller stops it.
"""

from __future__ import annotations

import math
import sys
import uuid as uuidlib
from pathlib import Path
from typing import Any

import httpx

from allotment.http.microversion import MAX_VERSION
from benchmarks.servers import Server, free_port

HEADERS = {"x-auth-token": "admin", "openstack-api-version": f"placement {MAX_VERSION}"}
SHARES = "MISC_SHARES_VIA_AGGREGATE"


def make_uuid(name: str) -> str:
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, name + ".console.allotment.test"))


AGG_A = make_uuid("agg-a")
AGG_B = make_uuid("agg-b")
PROJECT = make_uuid("project")
USER = make_uuid("user")
FULL_CONSUMER = make_uuid("vm-full")


def serve(tmp: Path, database_url: str | None = None) -> Server:
    """``allotment serve`` (noauth2) on 127.0.0.1 and a free port; started."""
    port = free_port()
    server = Server(
        "allotment",
        [
            sys.executable,
            "-m",
            "allotment",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--database",
            database_url or f"sqlite:///{tmp / 'console.sqlite'}",
        ],
        port,
        tmp / "serve.log",
        env={"ALLOTMENT_ACCESS_LOG": "false", "ALLOTMENT_CONFIG_FILE": ""},
    )
    server.start()
    return server


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response


def provider(
    client: httpx.Client,
    name: str,
    parent: str | None = None,
    inventories: dict[str, dict[str, float]] | None = None,
    traits: list[str] | None = None,
    aggregates: list[str] | None = None,
) -> str:
    uuid = make_uuid(name)
    body: dict[str, object] = {"name": name, "uuid": uuid}
    if parent:
        body["parent_provider_uuid"] = make_uuid(parent)
    _check(client.post("/resource_providers", json=body))
    generation = 0
    if inventories:
        got = _check(
            client.put(
                f"/resource_providers/{uuid}/inventories",
                json={"resource_provider_generation": generation, "inventories": inventories},
            )
        )
        generation = got.json()["resource_provider_generation"]
    if traits:
        got = _check(
            client.put(
                f"/resource_providers/{uuid}/traits",
                json={"resource_provider_generation": generation, "traits": traits},
            )
        )
        generation = got.json()["resource_provider_generation"]
    if aggregates:
        _check(
            client.put(
                f"/resource_providers/{uuid}/aggregates",
                json={"resource_provider_generation": generation, "aggregates": aggregates},
            )
        )
    return uuid


def allocate(client: httpx.Client, name: str, allocations: dict[str, dict[str, int]]) -> str:
    consumer = make_uuid(name)
    body = {
        "allocations": {
            make_uuid(rp): {"resources": resources} for rp, resources in allocations.items()
        },
        "project_id": PROJECT,
        "user_id": USER,
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    _check(client.put(f"/allocations/{consumer}", json=body))
    return consumer


def seed(base_url: str) -> None:
    """Build the cloud described in the module docstring."""
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=30) as client:
        for i in range(1, 7):
            provider(
                client,
                f"compute{i}",
                inventories={
                    "VCPU": {"total": 16, "allocation_ratio": 4.0},
                    "MEMORY_MB": {"total": 32768, "reserved": 512, "allocation_ratio": 1.5},
                    "DISK_GB": {"total": 500, "reserved": 0, "allocation_ratio": 1.0},
                },
                traits=["HW_CPU_X86_AVX2"] if i % 2 else ["HW_CPU_X86_SSE42"],
                aggregates=[AGG_A] if i <= 3 else [AGG_B],
            )
        for i in (1, 2):
            for n in (0, 1):
                provider(
                    client,
                    f"compute{i}-numa{n}",
                    parent=f"compute{i}",
                    inventories={"PCPU": {"total": 8, "allocation_ratio": 1.0}},
                )
        provider(
            client,
            "shared-storage",
            inventories={"DISK_GB": {"total": 10000, "reserved": 100, "allocation_ratio": 1.0}},
            traits=[SHARES],
            aggregates=[AGG_A],
        )
        provider(client, "spare-host")
        for k in range(7):
            host = f"compute{k % 6 + 1}"
            allocate(
                client,
                f"vm-{k}",
                {host: {"VCPU": 2 + k, "MEMORY_MB": 2048 * (k + 1), "DISK_GB": 20}},
            )
        # One consumer fills compute6's VCPU: the fullest provider, and "no candidate" asks.
        allocate(
            client,
            "vm-full",
            {"compute6": {"VCPU": 64 - 7}, "compute1-numa0": {"PCPU": 4}},
        )


def expected_overview(api: httpx.Client) -> dict[str, Any]:
    """Per class (capacity, used) as placement computes them, plus counts, via the API."""
    providers = api.get("/resource_providers").json()["resource_providers"]
    classes: dict[str, list[int]] = {}
    consumers: set[str] = set()
    aggregates: set[str] = set()
    empty = []
    for p in providers:
        base = f"/resource_providers/{p['uuid']}"
        inventories = api.get(f"{base}/inventories").json()["inventories"]
        usages = api.get(f"{base}/usages").json()["usages"]
        consumers.update(api.get(f"{base}/allocations").json()["allocations"])
        aggregates.update(api.get(f"{base}/aggregates").json()["aggregates"])
        if not inventories:
            empty.append(p["name"])
        for rc, inv in inventories.items():
            cap = math.floor((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
            total = classes.setdefault(rc, [0, 0])
            total[0] += cap
            total[1] += usages[rc]
    return {
        "providers": len(providers),
        "classes": classes,
        "consumers": len(consumers),
        "aggregates": len(aggregates),
        "empty": empty,
    }
