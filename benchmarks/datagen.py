"""A deterministic, nova-like cloud, and a loader that builds it through the HTTP API only.

``generate(n, seed)`` plans everything up front from a seeded RNG (same seed,
same cloud, byte for byte), so both servers receive identical data:

* ``n`` compute nodes with VCPU (16x), MEMORY_MB (1.5x) and DISK_GB (1.0x),
  a few traits from a small pool, grouped into aggregates of ~20 computes;
* ~10% of computes with two NUMA children carrying PCPU and MEMORY_MB (the
  root keeps VCPU and DISK_GB), ~5% with a VGPU child;
* every fifth aggregate is a storage aggregate: its computes have no local
  disk and use a sharing provider (trait MISC_SHARES_VIA_AGGREGATE) that is a
  member of two such aggregates;
* one "wide" root with 8 identical SRIOV_NET_VF children;
* instances (consumers) allocated until each compute is about half full.

``load(target, cloud)`` creates it with concurrent keep-alive sessions:
providers level by level (roots, then children), each with its inventories,
traits and aggregates, then allocations in ``POST /allocations`` batches.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.client import BenchError, Target, parallel

AGGREGATE_SIZE = 20
FILL_FRACTION = 0.5
CUSTOM_TRAITS = ("CUSTOM_GOLD",)
# (trait, probability that a compute has it)
TRAIT_POOL = (
    ("HW_CPU_X86_SSE42", 0.9),
    ("HW_CPU_X86_AVX2", 0.7),
    ("HW_CPU_X86_AVX512F", 0.2),
    ("STORAGE_DISK_SSD", 0.5),
    ("COMPUTE_VOLUME_MULTI_ATTACH", 0.4),
    ("CUSTOM_GOLD", 0.1),
    ("COMPUTE_STATUS_DISABLED", 0.05),
)
# (vcpus, memory_mb, disk_gb)
FLAVORS = ((2, 4096, 20), (4, 8192, 40), (4, 16384, 80), (8, 32768, 80), (16, 65536, 160))
HOST_VCPUS = (32, 48, 64)
HOST_MEMORY_MB = (131072, 262144, 393216)
HOST_DISK_GB = (1000, 2000, 4000)
WIDE_CHILDREN = 8
PROJECTS = 10
USERS = 20
SHARED_DISK_PER_COMPUTE_GB = 2000


@dataclass(frozen=True)
class Provider:
    uuid: str
    name: str
    parent: str | None
    inventories: dict[str, dict[str, Any]]
    traits: tuple[str, ...] = ()
    aggregates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Consumer:
    uuid: str
    project_id: str
    user_id: str
    allocations: dict[str, dict[str, int]]


@dataclass
class Cloud:
    """The planned data set; ``providers`` lists parents before children."""

    n: int
    seed: int
    providers: list[Provider] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)
    storage_aggregates: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    numa_hosts: list[str] = field(default_factory=list)
    vgpu_hosts: list[str] = field(default_factory=list)
    wide_root: str = ""

    @property
    def computes(self) -> list[Provider]:
        return [p for p in self.providers if p.name.startswith("compute-") and p.parent is None]

    def levels(self) -> list[list[Provider]]:
        """Providers grouped so that every parent is in an earlier group."""
        depth: dict[str, int] = {}
        for provider in self.providers:
            depth[provider.uuid] = 0 if provider.parent is None else depth[provider.parent] + 1
        grouped: dict[int, list[Provider]] = defaultdict(list)
        for provider in self.providers:
            grouped[depth[provider.uuid]].append(provider)
        return [grouped[level] for level in sorted(grouped)]

    def summary(self) -> dict[str, int]:
        return {
            "computes": self.n,
            "providers": len(self.providers),
            "consumers": len(self.consumers),
            "aggregates": len(self.aggregates),
            "storage_aggregates": len(self.storage_aggregates),
            "numa_hosts": len(self.numa_hosts),
            "vgpu_hosts": len(self.vgpu_hosts),
        }


def inventory(total: int, ratio: float = 1.0, reserved: int = 0) -> dict[str, Any]:
    return {
        "total": total,
        "reserved": reserved,
        "min_unit": 1,
        "max_unit": total,
        "step_size": 1,
        "allocation_ratio": ratio,
    }


def capacity(inv: dict[str, Any]) -> float:
    return (inv["total"] - inv["reserved"]) * inv["allocation_ratio"]


class _Planner:
    """Builds a ``Cloud`` from one seeded RNG; call order is part of the determinism."""

    def __init__(self, n: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cloud = Cloud(n=n, seed=seed)
        self.inv: dict[str, dict[str, dict[str, Any]]] = {}
        self.used: dict[tuple[str, str], int] = defaultdict(int)
        # compute uuid -> providers it allocates from, per resource class
        self.numa_children: dict[str, list[str]] = {}
        self.gpu_child: dict[str, str] = {}
        self.sharing_for: dict[str, str] = {}

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add(self, provider: Provider) -> None:
        self.cloud.providers.append(provider)
        self.inv[provider.uuid] = provider.inventories

    def plan(self) -> Cloud:
        cloud = self.cloud
        cloud.projects = [self.uuid() for _ in range(PROJECTS)]
        cloud.users = [self.uuid() for _ in range(USERS)]
        n_aggs = max(1, math.ceil(cloud.n / AGGREGATE_SIZE))
        cloud.aggregates = [self.uuid() for _ in range(n_aggs)]
        storage = [a for i, a in enumerate(cloud.aggregates) if i % 5 == 2] or cloud.aggregates[-1:]
        cloud.storage_aggregates = storage
        sharing = self._sharing_providers(storage)
        for index in range(cloud.n):
            self._compute(index, sharing)
        for provider_uuid, aggs in sharing.items():
            members = sum(1 for c in cloud.computes if set(c.aggregates) & set(aggs))
            total = max(1, members) * SHARED_DISK_PER_COMPUTE_GB
            self.add(
                Provider(
                    provider_uuid,
                    f"shared-storage-{len(self.inv):05d}",
                    None,
                    {"DISK_GB": inventory(total)},
                    ("MISC_SHARES_VIA_AGGREGATE",),
                    tuple(aggs),
                )
            )
        self._wide_tree()
        for compute in cloud.computes:
            self._fill(compute)
        return cloud

    def _sharing_providers(self, storage: list[str]) -> dict[str, list[str]]:
        """Sharing provider uuid -> its two storage aggregates (planned before computes)."""
        sharing: dict[str, list[str]] = {}
        for start in range(0, len(storage), 2):
            sharing[self.uuid()] = storage[start : start + 2]
        return sharing

    def _compute(self, index: int, sharing: dict[str, list[str]]) -> None:
        rng, cloud = self.rng, self.cloud
        root = self.uuid()
        agg = cloud.aggregates[index // AGGREGATE_SIZE % len(cloud.aggregates)]
        traits = tuple(sorted(t for t, p in TRAIT_POOL if rng.random() < p))
        vcpus, memory, disk = (
            rng.choice(HOST_VCPUS),
            rng.choice(HOST_MEMORY_MB),
            rng.choice(HOST_DISK_GB),
        )
        numa = rng.random() < 0.10
        vgpu = rng.random() < 0.05
        invs = {"VCPU": inventory(vcpus, 16.0)}
        if not numa:
            invs["MEMORY_MB"] = inventory(memory, 1.5, reserved=512)
        if agg in cloud.storage_aggregates:
            self.sharing_for[root] = next(s for s, aggs in sharing.items() if agg in aggs)
        else:
            invs["DISK_GB"] = inventory(disk)
        name = f"compute-{index:05d}"
        self.add(Provider(root, name, None, invs, traits, (agg,)))
        if numa:
            cloud.numa_hosts.append(root)
            self.numa_children[root] = []
            for node in range(2):
                child = self.uuid()
                self.numa_children[root].append(child)
                self.add(
                    Provider(
                        child,
                        f"{name}-numa{node}",
                        root,
                        {
                            "PCPU": inventory(vcpus // 2),
                            "MEMORY_MB": inventory(memory // 2, 1.5, reserved=256),
                        },
                    )
                )
        if vgpu:
            cloud.vgpu_hosts.append(root)
            child = self.uuid()
            self.gpu_child[root] = child
            self.add(Provider(child, f"{name}-gpu0", root, {"VGPU": inventory(8)}))

    def _wide_tree(self) -> None:
        root = self.uuid()
        self.cloud.wide_root = root
        self.add(Provider(root, "wide-root", None, {}))
        for index in range(WIDE_CHILDREN):
            self.add(
                Provider(
                    self.uuid(),
                    f"wide-root-pf{index}",
                    root,
                    {"SRIOV_NET_VF": inventory(8)},
                    ("HW_NIC_SRIOV",),
                )
            )

    def _placement(self, host: str, flavor: tuple[int, int, int]) -> dict[str, dict[str, int]]:
        """Where one instance of ``flavor`` on ``host`` takes each class from."""
        vcpus, memory, disk = flavor
        alloc: dict[str, dict[str, int]] = defaultdict(dict)
        if host in self.numa_children:
            node = self.rng.choice(self.numa_children[host])
            alloc[node]["MEMORY_MB"] = memory
            if self.rng.random() < 0.5 and vcpus <= self.inv[node]["PCPU"]["total"]:
                alloc[node]["PCPU"] = vcpus
            else:
                alloc[host]["VCPU"] = vcpus
        else:
            alloc[host]["VCPU"] = vcpus
            alloc[host]["MEMORY_MB"] = memory
        alloc[self.sharing_for.get(host, host)]["DISK_GB"] = disk
        if host in self.gpu_child and self.rng.random() < 0.3:
            alloc[self.gpu_child[host]]["VGPU"] = 1
        return dict(alloc)

    def _fits(self, alloc: dict[str, dict[str, int]]) -> bool:
        for rp, resources in alloc.items():
            for rc, amount in resources.items():
                inv = self.inv[rp][rc]
                if amount > inv["max_unit"]:
                    return False
                if self.used[(rp, rc)] + amount > FILL_FRACTION * capacity(inv):
                    return False
        return True

    def _fill(self, host: Provider) -> None:
        misses = 0
        while misses < 3:
            flavor = self.rng.choice(FLAVORS)
            alloc = self._placement(host.uuid, flavor)
            if not self._fits(alloc):
                misses += 1
                continue
            for rp, resources in alloc.items():
                for rc, amount in resources.items():
                    self.used[(rp, rc)] += amount
            self.cloud.consumers.append(
                Consumer(
                    self.uuid(),
                    self.rng.choice(self.cloud.projects),
                    self.rng.choice(self.cloud.users),
                    alloc,
                )
            )


def generate(n: int, seed: int = 42) -> Cloud:
    """The same ``(n, seed)`` always gives the same cloud."""
    if n < 1:
        raise ValueError("n must be positive")
    return _Planner(n, seed).plan()


# ---------------------------------------------------------------- loading


class _Loader:
    """Sends the load requests; retries server errors a bounded number of times.

    openstack-placement on SQLite answers concurrent writes with 500
    "database is locked"; the retry keeps the load going and ``retried``
    counts it, so the table shows the cost instead of the run dying.
    """

    RETRIES = 20

    def __init__(self, target: Target) -> None:
        self.target = target
        self.retried = 0
        self.conflicts = 0
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def send(
        self,
        method: str,
        path: str,
        expected: tuple[int, ...],
        body: Any,
        retry_conflicts: bool = False,
    ) -> httpx.Response:
        for attempt in range(self.RETRIES + 1):
            response = self.target.client().request(method, path, json=body)
            if response.status_code in expected:
                return response
            if attempt == self.RETRIES:
                break
            if response.status_code >= 500:
                self._count("retried")
            elif response.status_code == 409 and retry_conflicts:
                self._count("conflicts")
            else:
                break
            time.sleep(min(0.01 * 2**attempt, 1.0))
        raise BenchError(response, expected)

    def provider(self, provider: Provider) -> int:
        """Create one provider with its inventories, traits and aggregates; requests sent."""
        body: dict[str, Any] = {"uuid": provider.uuid, "name": provider.name}
        if provider.parent:
            body["parent_provider_uuid"] = provider.parent
        base = f"/resource_providers/{provider.uuid}"
        response = self.send("POST", "/resource_providers", (200, 409), body)
        if response.status_code == 409:  # a retried create that had in fact worked
            response = self.send("GET", base, (200,), None)
        generation = response.json()["generation"]
        sent = 1
        if provider.inventories:
            generation = self.send(
                "PUT",
                f"{base}/inventories",
                (200,),
                {
                    "inventories": provider.inventories,
                    "resource_provider_generation": generation,
                },
            ).json()["resource_provider_generation"]
            sent += 1
        if provider.traits:
            generation = self.send(
                "PUT",
                f"{base}/traits",
                (200,),
                {
                    "traits": list(provider.traits),
                    "resource_provider_generation": generation,
                },
            ).json()["resource_provider_generation"]
            sent += 1
        if provider.aggregates:
            self.send(
                "PUT",
                f"{base}/aggregates",
                (200,),
                {
                    "aggregates": list(provider.aggregates),
                    "resource_provider_generation": generation,
                },
            )
            sent += 1
        return sent

    def batch(self, batch: list[Consumer]) -> None:
        """POST one batch of new consumers; provider-generation conflicts are retried."""
        body = {c.uuid: allocation_body(c) for c in batch}
        self.send("POST", "/allocations", (204,), body, retry_conflicts=True)


def allocation_body(consumer: Consumer) -> dict[str, Any]:
    return {
        "allocations": {rp: {"resources": res} for rp, res in consumer.allocations.items()},
        "project_id": consumer.project_id,
        "user_id": consumer.user_id,
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }


def load(
    target: Target,
    cloud: Cloud,
    concurrency: int = 8,
    batch_size: int = 50,
) -> dict[str, Any]:
    """Create ``cloud`` on ``target`` through the API; return rates for the load scenario."""
    loader = _Loader(target)
    for trait in CUSTOM_TRAITS:
        loader.send("PUT", f"/traits/{trait}", (201, 204), None)
    start = time.perf_counter()
    requests = 0
    for level in cloud.levels():
        requests += sum(parallel(loader.provider, level, concurrency))
    provider_seconds = time.perf_counter() - start
    batches = [
        cloud.consumers[i : i + batch_size] for i in range(0, len(cloud.consumers), batch_size)
    ]
    start = time.perf_counter()
    parallel(loader.batch, batches, concurrency)
    allocation_seconds = time.perf_counter() - start
    return {
        "providers": len(cloud.providers),
        "provider_requests": requests,
        "provider_seconds": round(provider_seconds, 3),
        "providers_per_s": len(cloud.providers) / provider_seconds,
        "consumers": len(cloud.consumers),
        "allocation_batches": len(batches),
        "allocation_seconds": round(allocation_seconds, 3),
        "allocations_per_s": len(cloud.consumers) / allocation_seconds if batches else 0.0,
        "allocation_conflicts_retried": loader.conflicts,
        "server_errors_retried": loader.retried,
    }
