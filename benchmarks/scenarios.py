"""The measured scenarios: candidates, claims and reads (load lives in ``datagen``).

Every loop is bounded twice, by a count and by a time budget, so a slow
server makes a run shorter, never endless. Results are plain dicts ready
for JSON.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.client import BenchError, Target, parallel
from benchmarks.datagen import Cloud, capacity

FLAVOR = "VCPU:2,MEMORY_MB:4096,DISK_GB:40"
CLAIM_FLAVOR = "VCPU:1,MEMORY_MB:512,DISK_GB:10"


@dataclass(frozen=True)
class Budget:
    """Bounds for the scenarios (counts and seconds)."""

    repeats: int = 20
    shape_seconds: float = 30.0
    # 100: at 16 clients and 200 claims/s, an 8-second run (20 gave 1.6 s,
    # mostly ramp-up: new connections and a model warming up).
    claims_per_client: int = 100
    claim_seconds: float = 60.0
    read_requests: int = 2000
    read_seconds: float = 15.0
    read_concurrency: int = 8


def candidate_shapes(cloud: Cloud) -> dict[str, list[tuple[str, str]]]:
    """Query parameters per candidate shape (same for both servers)."""
    wide = [(f"resources{i}", "SRIOV_NET_VF:1") for i in range(1, 9)]
    storage = "in:" + ",".join(cloud.storage_aggregates)
    return {
        "simple_limit1000": [("resources", FLAVOR), ("limit", "1000")],
        "simple": [("resources", FLAVOR)],
        "required_trait": [("resources", FLAVOR), ("required", "HW_CPU_X86_AVX512F")],
        "forbidden_trait": [("resources", FLAVOR), ("required", "!COMPUTE_STATUS_DISABLED")],
        "member_of": [("resources", FLAVOR), ("member_of", "in:" + ",".join(cloud.aggregates[:3]))],
        "granular_isolate": [
            ("resources", "DISK_GB:20"),
            ("resources1", "PCPU:2,MEMORY_MB:2048"),
            ("resources2", "PCPU:2,MEMORY_MB:2048"),
            ("group_policy", "isolate"),
        ],
        "sharing_storage": [
            ("resources", "VCPU:1,MEMORY_MB:2048,DISK_GB:100"),
            ("member_of", storage),
        ],
        "vgpu_nested": [("resources", FLAVOR), ("resources1", "VGPU:1"), ("group_policy", "none")],
        "wide_tree_isolate": [*wide, ("group_policy", "isolate"), ("limit", "1000")],
    }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation; fine for tens of samples)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.4999)))
    return ordered[rank - 1]


EXPLAIN = "/allocation_candidates/explain"


def _measure_shape(
    target: Target,
    params: list[tuple[str, str]],
    budget: Budget,
    heavy: bool = False,
) -> dict[str, Any]:
    """One warm-up request (gives the counts), then timed repeats within the budget."""
    response, first = target.timed("GET", "/allocation_candidates", params=params)
    if response.status_code != 200:
        return {"error": str(BenchError(response, (200,)))}
    body = response.json()
    result: dict[str, Any] = {
        "candidates": len(body["allocation_requests"]),
        "summaries": len(body["provider_summaries"]),
        "bytes": len(response.content),
        "warmup_ms": first * 1000,
    }
    samples: list[float] = []
    deadline = time.monotonic() + budget.shape_seconds
    while len(samples) < budget.repeats and time.monotonic() < deadline:
        response, seconds = target.timed("GET", "/allocation_candidates", params=params)
        if response.status_code != 200:
            result["error"] = str(BenchError(response, (200,)))
            break
        samples.append(seconds * 1000)
    if not samples:  # the warm-up alone used the budget: it is the one sample
        samples.append(first * 1000)
    result.update(
        samples=len(samples),
        p50_ms=percentile(samples, 0.5),
        p95_ms=percentile(samples, 0.95),
        min_ms=min(samples),
    )
    if target.name == "allotment" and not heavy:
        result.update(_measure_explain(target, params, budget))
    return result


def _measure_explain(target: Target, params: list[tuple[str, str]], budget: Budget) -> dict:
    """GET /allocation_candidates/explain (an allotment extension) with the same query."""
    samples: list[float] = []
    verdict = None
    deadline = time.monotonic() + budget.shape_seconds
    while len(samples) < min(budget.repeats, 5) and time.monotonic() < deadline:
        response, seconds = target.timed("GET", EXPLAIN, params=params)
        if response.status_code != 200:
            return {"explain_error": str(BenchError(response, (200,)))}
        verdict = response.json()["verdict"]["step"]
        samples.append(seconds * 1000)
    if not samples:
        return {}
    return {"explain_p50_ms": percentile(samples, 0.5), "explain_verdict": verdict}


# Shapes that may keep a server busy long after the client gave up (a naive
# Cartesian product over 8 groups x 8 children); the runner measures them last
# so a still-running request cannot slow down or lock out the other scenarios.
HEAVY_SHAPES = ("wide_tree_isolate",)


def run_candidates(
    target: Target, cloud: Cloud, budget: Budget, heavy: bool = False
) -> dict[str, Any]:
    """The light shapes, or with ``heavy`` only the heavy ones."""
    results = {}
    for name, params in candidate_shapes(cloud).items():
        if (name in HEAVY_SHAPES) != heavy:
            continue
        try:
            results[name] = _measure_shape(target, params, budget, heavy)
        except httpx.TimeoutException:
            results[name] = {"error": f"timeout: no answer within {target.timeout:.0f}s"}
        except httpx.HTTPError as error:
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    return results


# ---------------------------------------------------------------- claims


@dataclass
class _ClaimStats:
    claims: int = 0
    attempts: int = 0
    conflicts: int = 0
    no_candidates: int = 0
    errors: int = 0

    def add(self, other: _ClaimStats) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _claim_once(
    target: Target,
    cloud: Cloud,
    rng: random.Random,
    stats: _ClaimStats,
    touched: set[str],
    codes: Counter[str],
) -> bool:
    """Pick a candidate and PUT it for a new consumer; True when it was written.

    A request without an answer (timeout, dropped connection) is a failed
    request like a 5xx, not the end of the scenario: a slow server under 64
    clients must still get its numbers.
    """
    try:
        response = target.light().get(
            "/allocation_candidates", params={"resources": CLAIM_FLAVOR, "limit": "50"}
        )
    except httpx.TransportError as error:
        return _no_answer(stats, codes, "candidates", error)
    if response.status_code != 200:
        stats.errors += 1
        codes[f"candidates {response.status_code}"] += 1
        return False
    requests = response.json()["allocation_requests"]
    if not requests:
        stats.no_candidates += 1
        return False
    allocations = rng.choice(requests)["allocations"]
    body = {
        "allocations": allocations,
        "project_id": rng.choice(cloud.projects),
        "user_id": rng.choice(cloud.users),
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    stats.attempts += 1
    try:
        response = target.light().put(
            f"/allocations/{uuid.UUID(int=rng.getrandbits(128))}", json=body
        )
    except httpx.TransportError as error:
        # The server may still have written it: check these providers too.
        touched.update(allocations)
        return _no_answer(stats, codes, "put", error)
    if response.status_code == 204:
        stats.claims += 1
        touched.update(allocations)
        return True
    if response.status_code == 409:
        stats.conflicts += 1
        codes[_error_code(response)] += 1
    else:
        stats.errors += 1
        codes[f"put {response.status_code}"] += 1
    return False


def _no_answer(
    stats: _ClaimStats, codes: Counter[str], what: str, error: httpx.TransportError
) -> bool:
    stats.errors += 1
    kind = "timeout" if isinstance(error, httpx.TimeoutException) else type(error).__name__
    codes[f"{what} {kind}"] += 1
    return False


def _error_code(response: Any) -> str:
    try:
        return response.json()["errors"][0].get("code") or "409 (no code)"
    except (ValueError, KeyError, IndexError):
        return "409 (no body)"


def _claimer(
    target: Target,
    cloud: Cloud,
    seed: int,
    budget: Budget,
    deadline: float,
    touched: set[str],
    codes: Counter[str],
) -> _ClaimStats:
    rng = random.Random(seed)
    stats = _ClaimStats()
    tries = 0
    # Each failed attempt is a retry of the same claim; at most 10 tries per claim.
    while (
        stats.claims < budget.claims_per_client
        and tries < budget.claims_per_client * 10
        and time.monotonic() < deadline
    ):
        tries += 1
        _claim_once(target, cloud, rng, stats, touched, codes)
        if stats.no_candidates > budget.claims_per_client:
            break
    return stats


def run_claims(
    target: Target, cloud: Cloud, clients: int, budget: Budget, seed: int
) -> dict[str, Any]:
    """``clients`` concurrent schedulers racing for the same first 50 candidates."""
    touched: set[str] = set()
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + budget.claim_seconds
    total = _ClaimStats()

    def one(index: int) -> None:
        mine: set[str] = set()
        mine_codes: Counter[str] = Counter()
        stats = _claimer(target, cloud, seed * 1000 + index, budget, deadline, mine, mine_codes)
        with lock:
            total.add(stats)
            touched.update(mine)
            codes.update(mine_codes)

    start = time.perf_counter()
    parallel(one, range(clients), clients)
    seconds = time.perf_counter() - start
    return {
        "clients": clients,
        "seconds": round(seconds, 3),
        **vars(total),
        "claims_per_s": total.claims / seconds,
        "conflict_rate": total.conflicts / total.attempts if total.attempts else 0.0,
        "conflict_codes": dict(codes),
        "touched_providers": sorted(touched),
    }


def over_capacity(target: Target, providers: list[str], concurrency: int = 8) -> list[str]:
    """Providers whose usage exceeds (total - reserved) * ratio for some class."""

    def check(rp: str) -> list[str]:
        inventories = target.request("GET", f"/resource_providers/{rp}/inventories", 200).json()[
            "inventories"
        ]
        usages = target.request("GET", f"/resource_providers/{rp}/usages", 200).json()["usages"]
        return [
            f"{rp} {rc}: used {used} > capacity {capacity(inventories[rc])}"
            for rc, used in usages.items()
            if rc in inventories and used > capacity(inventories[rc]) + 1e-9
        ]

    found: list[str] = []
    for problems in parallel(check, sorted(providers), concurrency):
        found.extend(problems)
    return found


# ---------------------------------------------------------------- reads


# openstack-placement 16.0.0 answers GET /usages at >= 1.38 (usages by consumer
# type) with a 500 on PostgreSQL (its GROUP BY misses a column), so project
# usages are read at 1.37 on both servers.
USAGES_VERSION = {"openstack-api-version": "placement 1.37"}


def read_shapes(cloud: Cloud) -> dict[str, Any]:
    """Per read kind, a function from an RNG to (path, params, extra headers)."""
    providers = [p.uuid for p in cloud.providers if p.inventories]
    return {
        "list_providers_resources": lambda rng: (
            "/resource_providers",
            {"resources": "VCPU:8,MEMORY_MB:65536"},
            None,
        ),
        "provider_inventories": lambda rng: (
            f"/resource_providers/{rng.choice(providers)}/inventories",
            None,
            None,
        ),
        "provider_usages": lambda rng: (
            f"/resource_providers/{rng.choice(providers)}/usages",
            None,
            None,
        ),
        "project_usages": lambda rng: (
            "/usages",
            {"project_id": rng.choice(cloud.projects)},
            USAGES_VERSION,
        ),
    }


def _read_kind(target: Target, make: Any, budget: Budget, seed: int) -> dict[str, Any]:
    deadline = time.monotonic() + budget.read_seconds
    counter = iter(range(budget.read_requests))
    lock = threading.Lock()
    done: list[int] = []
    errors: Counter[str] = Counter()

    def worker(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            path, params, headers = make(rng)
            try:
                response = target.client().get(path, params=params, headers=headers)
                outcome = "" if response.status_code == 200 else str(response.status_code)
            except httpx.TransportError as error:
                outcome = type(error).__name__
            with lock:
                done.append(1) if not outcome else errors.update([outcome])

    start = time.perf_counter()
    parallel(worker, range(budget.read_concurrency), budget.read_concurrency)
    seconds = time.perf_counter() - start
    return {
        "requests": len(done),
        "seconds": round(seconds, 3),
        "requests_per_s": len(done) / seconds,
        "errors": dict(errors),
    }


def run_reads(target: Target, cloud: Cloud, budget: Budget, seed: int) -> dict[str, Any]:
    return {
        name: _read_kind(target, make, budget, seed) for name, make in read_shapes(cloud).items()
    }
