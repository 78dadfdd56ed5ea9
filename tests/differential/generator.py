"""Seeded random requests over every route, method and microversion, valid and invalid.

``Generator(seed)`` yields ``Call``s. The pools of names and uuids are drawn from
the seed, so two runs with one seed send the same first request; later requests
use generations learnt from the reference system's answers (``observe``), so the
sequence stays meaningful (most writes carry the current generation) while a
share of them carries a stale or missing one on purpose.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STANDARD_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB", "PCPU", "SRIOV_NET_VF")
CUSTOM_CLASSES = ("CUSTOM_GOLD", "CUSTOM_SILVER")
BAD_CLASSES = ("vcpu", "NOT_A_CLASS", "CUSTOM_")
STANDARD_TRAITS = ("HW_CPU_X86_AVX", "COMPUTE_VOLUME_MULTI_ATTACH", "STORAGE_DISK_SSD")
CUSTOM_TRAITS = ("CUSTOM_RACK_A", "CUSTOM_RACK_B")
BAD_TRAITS = ("CUSTOM_NOT_THERE", "lower_case", "CUSTOM_bad-char")
BAD_VERSIONS = ("1.x", "1.40", "2.0", "0.9", "1", "1.", "latest2", "1.2.3", "-1.5", "x.1")


@dataclass
class Call:
    """One request: method, path (with query), headers and an optional JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    raw: bytes | None = None  # a body sent as is (broken JSON)

    def content(self) -> bytes | None:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return None
        import json

        return json.dumps(self.body).encode()

    def describe(self) -> str:
        version = self.headers.get("openstack-api-version", "-")
        return f"{self.method} {self.path} [{version}]"


@dataclass
class Generator:
    seed: int
    rng: random.Random = field(init=False)
    providers: list[str] = field(init=False)
    consumers: list[str] = field(init=False)
    aggregates: list[str] = field(init=False)
    generations: dict[str, int] = field(default_factory=dict)
    consumer_generations: dict[str, int] = field(default_factory=dict)
    version: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.providers = [str(uuid.UUID(int=self.rng.getrandbits(128))) for _ in range(6)]
        self.consumers = [str(uuid.UUID(int=self.rng.getrandbits(128))) for _ in range(4)]
        self.aggregates = [str(uuid.UUID(int=self.rng.getrandbits(128))) for _ in range(3)]

    # -- pools ----------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def provider(self) -> str:
        roll = self.rng.random()
        if roll < 0.9:
            return self.rng.choice(self.providers)
        if roll < 0.97:
            return str(uuid.UUID(int=self.rng.getrandbits(128)))
        return "not-a-uuid"

    def consumer(self) -> str:
        return self.rng.choice(self.consumers) if self.chance(0.95) else "not-a-uuid"

    def rc(self, bad: float = 0.05) -> str:
        if self.chance(bad):
            return self.rng.choice(BAD_CLASSES)
        return self.rng.choice(STANDARD_CLASSES + CUSTOM_CLASSES)

    def trait(self, bad: float = 0.05) -> str:
        if self.chance(bad):
            return self.rng.choice(BAD_TRAITS)
        return self.rng.choice(STANDARD_TRAITS + CUSTOM_TRAITS)

    def generation(self, rp: str) -> Any:
        roll = self.rng.random()
        if roll < 0.8 and rp in self.generations:
            return self.generations[rp]
        if roll < 0.95:
            return self.rng.randint(0, 4)
        return self.rng.choice([None, "1", -1])

    def consumer_generation(self, consumer: str) -> Any:
        roll = self.rng.random()
        if roll < 0.75:
            return self.consumer_generations.get(consumer)
        if roll < 0.95:
            return self.rng.randint(0, 3)
        return self.rng.choice(["x", -1])

    def microversion(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.06:
            return None
        if roll < 0.12:
            return "latest"
        if roll < 0.16:
            return self.rng.choice(BAD_VERSIONS)
        return f"1.{self.rng.randint(0, 39)}"

    def at_least(self, minor: int) -> bool:
        return self.version is not None and self.version >= (1, minor)

    # -- the call ---------------------------------------------------------------------

    def next_call(self) -> Call:
        op: Callable[[], tuple[str, str, Any]] = self.rng.choices(
            OPERATIONS, weights=[w for w, _ in OPERATION_TABLE]
        )[0]
        version = self.microversion()
        self.version = _parse(version)
        method, path, body = op(self)
        headers = {"x-auth-token": "admin"}
        if version is not None:
            headers["openstack-api-version"] = f"placement {version}"
        roll = self.rng.random()
        if roll < 0.08:
            headers["accept"] = self.rng.choice(["text/html", "text/plain", "application/xml"])
        elif roll < 0.5:
            headers["accept"] = "application/json"
        call = Call(method, path, headers)
        if body is not None or method in ("PUT", "POST"):
            if self.chance(0.03):
                call.raw = b'{"broken": '
            else:
                call.body = body if body is not None else {}
            if not self.chance(0.03):
                headers["content-type"] = "application/json"
        return call

    def observe(self, call: Call, status: int, body: Any) -> None:
        """Learn provider and consumer generations from the reference answer."""
        if not isinstance(body, dict) or status >= 400:
            return
        parts = call.path.split("?")[0].strip("/").split("/")
        if parts[0] == "resource_providers" and len(parts) >= 2:
            gen = body.get("resource_provider_generation", body.get("generation"))
            if isinstance(gen, int):
                self.generations[parts[1]] = gen
        if parts[0] == "resource_providers" and len(parts) == 1 and "uuid" in body:
            self.generations[body["uuid"]] = body.get("generation", 0)
        for rp in body.get("resource_providers", []) if parts[0] == "resource_providers" else []:
            if isinstance(rp, dict) and "uuid" in rp:
                self.generations[rp["uuid"]] = rp.get("generation", 0)
        if parts[0] == "allocations" and len(parts) == 2 and "consumer_generation" in body:
            self.consumer_generations[parts[1]] = body["consumer_generation"]


def _parse(version: str | None) -> tuple[int, int] | None:
    if version is None:
        return (1, 0)
    if version == "latest":
        return (1, 39)
    try:
        major, minor = version.split(".")
        return (int(major), int(minor))
    except ValueError:
        return None


# -- operations: each returns (method, path, body) ---------------------------------


def _provider_body(g: Generator, create: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if create or g.chance(0.9):
        # An empty name only on create: upstream stores one on update (see allow.py).
        body["name"] = g.rng.choice([f"rp-{g.rng.randint(0, 7)}", "" if create else "y", "x" * 201])
        if g.chance(0.9):
            body["name"] = f"rp-{g.rng.randint(0, 7)}"
    if create:
        # Always named: a uuid the server picks could not be compared.
        body["uuid"] = g.provider()
    if g.chance(0.4):
        body["parent_provider_uuid"] = g.rng.choice([None, g.provider()])
    if g.chance(0.03):
        body["extra"] = 1
    return body


def create_provider(g: Generator) -> tuple[str, str, Any]:
    return "POST", "/resource_providers", _provider_body(g, True)


def show_provider(g: Generator) -> tuple[str, str, Any]:
    return "GET", f"/resource_providers/{g.provider()}", None


def update_provider(g: Generator) -> tuple[str, str, Any]:
    return "PUT", f"/resource_providers/{g.provider()}", _provider_body(g, False)


def delete_provider(g: Generator) -> tuple[str, str, Any]:
    return "DELETE", f"/resource_providers/{g.provider()}", None


def _resources(g: Generator) -> str:
    picks = {g.rc(0.03): g.rng.choice([1, 2, 64, 0, 100000]) for _ in range(g.rng.randint(1, 3))}
    return ",".join(f"{k}:{v}" for k, v in picks.items())


def list_providers(g: Generator) -> tuple[str, str, Any]:
    filters = []
    for _ in range(g.rng.randint(0, 2)):
        kind = g.rng.choice(
            ["name", "uuid", "member_of", "resources", "in_tree", "required", "bogus"]
        )
        if kind == "name":
            filters.append(f"name=rp-{g.rng.randint(0, 7)}")
        elif kind == "uuid":
            filters.append(f"uuid={g.provider()}")
        elif kind == "member_of":
            agg = g.rng.choice(g.aggregates)
            filters.append(g.rng.choice([f"member_of={agg}", f"member_of=in:{agg}", "member_of=x"]))
        elif kind == "resources":
            filters.append(f"resources={_resources(g)}")
        elif kind == "in_tree":
            filters.append(f"in_tree={g.provider()}")
        elif kind == "required":
            filters.append(f"required={g.rng.choice(['', '!'])}{g.trait()}")
        else:
            filters.append("bogus=1")
    query = "?" + "&".join(filters) if filters else ""
    return "GET", f"/resource_providers{query}", None


def _inventory(g: Generator) -> dict[str, Any]:
    inv: dict[str, Any] = {"total": g.rng.choice([1, 4, 8, 16, 1024, 0])}
    for key, values in (
        ("reserved", [0, 1, 2, 16]),
        ("min_unit", [1, 2]),
        ("max_unit", [1, 4, 16, 1024]),
        ("step_size", [1, 2]),
        ("allocation_ratio", [1.0, 1.5, 16.0]),
    ):
        if g.chance(0.3):
            inv[key] = g.rng.choice(values)
    if g.chance(0.03):
        inv["bogus"] = True
    return inv


def inventories(g: Generator) -> tuple[str, str, Any]:
    rp = g.provider()
    path = f"/resource_providers/{rp}/inventories"
    method = g.rng.choice(["GET", "GET", "PUT", "PUT", "PUT", "POST", "DELETE"])
    if method in ("GET", "DELETE"):
        return method, path, None
    if method == "POST":
        body = {"resource_class": g.rc(), **_inventory(g)}
        body["resource_provider_generation"] = g.generation(rp)
        return method, path, body
    invs = {g.rc(): _inventory(g) for _ in range(g.rng.randint(0, 3))}
    body = {"inventories": invs}
    if g.chance(0.95):
        body["resource_provider_generation"] = g.generation(rp)
    return method, path, body


def inventory(g: Generator) -> tuple[str, str, Any]:
    rp = g.provider()
    path = f"/resource_providers/{rp}/inventories/{g.rc()}"
    method = g.rng.choice(["GET", "PUT", "PUT", "DELETE", "POST"])
    if method == "PUT":
        body = _inventory(g)
        if g.chance(0.95):
            body["resource_provider_generation"] = g.generation(rp)
        return method, path, body
    return method, path, None


def aggregates(g: Generator) -> tuple[str, str, Any]:
    rp = g.provider()
    path = f"/resource_providers/{rp}/aggregates"
    if g.chance(0.4):
        return "GET", path, None
    aggs = g.rng.sample(g.aggregates, g.rng.randint(0, 3))
    if g.chance(0.03):
        aggs.append("not-a-uuid")
    dict_form = g.at_least(19) if g.chance(0.9) else not g.at_least(19)
    if dict_form:
        body: Any = {"aggregates": aggs}
        if g.chance(0.95):
            body["resource_provider_generation"] = g.generation(rp)
        return "PUT", path, body
    return "PUT", path, aggs


def provider_traits(g: Generator) -> tuple[str, str, Any]:
    rp = g.provider()
    path = f"/resource_providers/{rp}/traits"
    method = g.rng.choice(["GET", "PUT", "PUT", "DELETE"])
    if method != "PUT":
        return method, path, None
    body: dict[str, Any] = {"traits": sorted({g.trait() for _ in range(g.rng.randint(0, 3))})}
    if g.chance(0.95):
        body["resource_provider_generation"] = g.generation(rp)
    return method, path, body


def provider_reads(g: Generator) -> tuple[str, str, Any]:
    leaf = g.rng.choice(["usages", "allocations"])
    return "GET", f"/resource_providers/{g.provider()}/{leaf}", None


def resource_classes(g: Generator) -> tuple[str, str, Any]:
    name = g.rc(0.15)
    method = g.rng.choice(["GET", "GET", "POST", "PUT", "PUT", "DELETE", "LIST"])
    if method == "LIST":
        return "GET", "/resource_classes", None
    if method == "POST":
        return "POST", "/resource_classes", {"name": name}
    path = f"/resource_classes/{name}"
    if method == "PUT":
        return "PUT", path, {"name": g.rc(0.15)} if not g.at_least(7) else None
    return method, path, None


def traits(g: Generator) -> tuple[str, str, Any]:
    method = g.rng.choice(["GET", "PUT", "PUT", "DELETE", "LIST"])
    if method == "LIST":
        query = g.rng.choice(
            [
                "",
                "?name=in:CUSTOM_RACK_A,HW_CPU_X86_AVX",
                "?name=startswith:CUSTOM",
                "?associated=true",
                "?associated=false",
                "?name=bad",
            ]
        )
        return "GET", f"/traits{query}", None
    return method, f"/traits/{g.trait(0.15)}", None


def _allocation_resources(g: Generator) -> dict[str, int]:
    return {g.rc(0.02): g.rng.choice([1, 2, 4, 0, 1000]) for _ in range(g.rng.randint(1, 2))}


def _allocations_body(g: Generator, consumer: str) -> Any:
    rps = g.rng.sample(g.providers, g.rng.randint(0, 2))
    if g.chance(0.05):
        rps.append(g.provider())
    if g.at_least(12) and g.chance(0.93):
        body: dict[str, Any] = {
            "allocations": {rp: {"resources": _allocation_resources(g)} for rp in rps}
        }
    else:
        body = {
            "allocations": [
                {"resource_provider": {"uuid": rp}, "resources": _allocation_resources(g)}
                for rp in rps
            ]
        }
    if g.at_least(8) and g.chance(0.95) or g.chance(0.05):
        body["project_id"] = g.rng.choice(["p1", "p2"])
        body["user_id"] = g.rng.choice(["u1", "u2"])
    if g.at_least(28) and g.chance(0.95):
        body["consumer_generation"] = g.consumer_generation(consumer)
    if g.at_least(38) and g.chance(0.95):
        body["consumer_type"] = g.rng.choice(["INSTANCE", "MIGRATION", "bad type"])
    return body


def allocations(g: Generator) -> tuple[str, str, Any]:
    consumer = g.consumer()
    method = g.rng.choice(["GET", "PUT", "PUT", "PUT", "DELETE", "POST"])
    if method == "POST":
        body = {}
        for c in g.rng.sample(g.consumers, g.rng.randint(1, 2)):
            one = _allocations_body(g, c)
            if isinstance(one["allocations"], list):
                one["allocations"] = {}
            body[c] = one
        return "POST", "/allocations", body
    path = f"/allocations/{consumer}"
    if method == "PUT":
        return method, path, _allocations_body(g, consumer)
    return method, path, None


def allocation_candidates(g: Generator) -> tuple[str, str, Any]:
    params = [f"resources={_resources(g)}"] if g.chance(0.9) else []
    for _ in range(g.rng.randint(0, 2)):
        kind = g.rng.choice(["limit", "required", "member_of", "in_tree", "group", "policy"])
        if kind == "limit":
            params.append(f"limit={g.rng.choice([1, 2, 0, 'x'])}")
        elif kind == "required":
            params.append(f"required={g.rng.choice(['', '!'])}{g.trait()}")
        elif kind == "member_of":
            params.append(f"member_of={g.rng.choice(g.aggregates)}")
        elif kind == "in_tree":
            params.append(f"in_tree={g.provider()}")
        elif kind == "group":
            params.append(f"resources1={_resources(g)}")
        else:
            params.append(f"group_policy={g.rng.choice(['none', 'isolate', 'bad'])}")
    query = "?" + "&".join(params) if params else ""
    return "GET", f"/allocation_candidates{query}", None


def usages(g: Generator) -> tuple[str, str, Any]:
    query = g.rng.choice(["?project_id=p1", "?project_id=p2&user_id=u1", "", "?user_id=u1"])
    if g.at_least(38) and g.chance(0.3):
        query += "&consumer_type=INSTANCE" if query else "?consumer_type=all"
    return "GET", f"/usages{query}", None


def reshaper(g: Generator) -> tuple[str, str, Any]:
    invs = {}
    for rp in g.rng.sample(g.providers, g.rng.randint(1, 3)):
        invs[rp] = {
            "resource_provider_generation": g.generation(rp),
            "inventories": {g.rc(0.02): _inventory(g) for _ in range(g.rng.randint(0, 2))},
        }
    if g.chance(0.05):
        invs[g.provider()] = {"resource_provider_generation": 0, "inventories": {}}
    allocs = {}
    for consumer in g.rng.sample(g.consumers, g.rng.randint(0, 2)):
        one = _allocations_body(g, consumer)
        if isinstance(one["allocations"], list):
            one["allocations"] = {}
        one.setdefault("project_id", "p1")
        one.setdefault("user_id", "u1")
        one.setdefault("consumer_generation", g.consumer_generation(consumer))
        allocs[consumer] = one
    return "POST", "/reshaper", {"inventories": invs, "allocations": allocs}


def root(g: Generator) -> tuple[str, str, Any]:
    return "GET", "/", None


def junk(g: Generator) -> tuple[str, str, Any]:
    return g.rng.choice(
        [
            ("PATCH", f"/resource_providers/{g.provider()}", {}),
            ("POST", f"/resource_providers/{g.provider()}", {}),
            ("DELETE", "/resource_providers", None),
            ("GET", "/nothing/here", None),
            ("GET", "/resource_providers/", None),
            ("POST", "/traits", {}),
            ("PUT", "/usages", {}),
            ("GET", "/reshaper", None),
            ("DELETE", "/allocations", None),
            ("PUT", "/allocation_candidates", {}),
            ("POST", f"/resource_providers/{g.provider()}/traits", {}),
            ("PUT", f"/resource_providers/{g.provider()}/usages", {}),
        ]
    )


OPERATION_TABLE: tuple[tuple[int, Callable[[Generator], tuple[str, str, Any]]], ...] = (
    (10, create_provider),
    (4, show_provider),
    (5, update_provider),
    (2, delete_provider),
    (4, list_providers),
    (10, inventories),
    (5, inventory),
    (5, aggregates),
    (5, provider_traits),
    (3, provider_reads),
    (4, resource_classes),
    (4, traits),
    (10, allocations),
    (4, allocation_candidates),
    (2, usages),
    (4, reshaper),
    (1, root),
    (3, junk),
)
OPERATIONS = [op for _, op in OPERATION_TABLE]
