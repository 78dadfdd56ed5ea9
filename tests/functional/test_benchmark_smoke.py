"""Keeps the benchmark harness from rotting: a tiny cloud through the in-process app.

Asserts that the generator is deterministic and that load, every scenario and
the report produce well-formed results without errors. Timings are not checked.
"""

from __future__ import annotations

from allotment.app import make_app
from allotment.config import Settings
from allotment.store.engine import Database
from benchmarks import datagen, report, runner
from benchmarks.client import Target
from benchmarks.scenarios import Budget, candidate_shapes

SMOKE_BUDGET = Budget(
    repeats=2,
    shape_seconds=10,
    claims_per_client=2,
    claim_seconds=20,
    read_requests=8,
    read_seconds=10,
    read_concurrency=2,
)


def test_generator_is_deterministic_and_nova_like():
    cloud = datagen.generate(60, seed=7)
    assert cloud == datagen.generate(60, seed=7)
    assert cloud != datagen.generate(60, seed=8)
    computes = cloud.computes
    assert len(computes) == 60
    assert all(c.inventories["VCPU"]["allocation_ratio"] == 16.0 for c in computes)
    assert {c.aggregates[0] for c in computes} == set(cloud.aggregates)
    sharing = [p for p in cloud.providers if "MISC_SHARES_VIA_AGGREGATE" in p.traits]
    assert sharing and all(set(p.aggregates) <= set(cloud.storage_aggregates) for p in sharing)
    assert cloud.numa_hosts and len(cloud.levels()) == 2
    # Allocations stay within half of every provider's capacity.
    used: dict[tuple[str, str], int] = {}
    for consumer in cloud.consumers:
        for rp, resources in consumer.allocations.items():
            for rc, amount in resources.items():
                used[(rp, rc)] = used.get((rp, rc), 0) + amount
    inventories = {p.uuid: p.inventories for p in cloud.providers}
    assert used and all(
        amount <= 0.5 * datagen.capacity(inventories[rp][rc]) for (rp, rc), amount in used.items()
    )


def test_harness_runs_every_scenario_in_process(db: Database, settings: Settings):
    cloud = datagen.generate(30, seed=3)
    options = runner.Options(
        claim_clients=(2,), load_concurrency=2, batch_size=20, budget=SMOKE_BUDGET
    )
    target = Target("allotment", app=make_app(settings, db=db, prepare=False))
    try:
        result = runner.run_system(target, cloud, options)
    finally:
        target.close()

    assert "errors" not in result, result.get("errors")
    assert result["load"]["providers"] == len(cloud.providers)
    assert result["load"]["consumers"] == len(cloud.consumers) > 0
    assert result["load"]["providers_per_s"] > 0
    assert set(result["candidates"]) == set(candidate_shapes(cloud))
    for shape, measured in result["candidates"].items():
        assert "error" not in measured, (shape, measured)
        assert measured["samples"] >= 1 and measured["p95_ms"] >= measured["p50_ms"] > 0
        if shape != "wide_tree_isolate":  # explain is timed beside every light shape
            assert measured["explain_p50_ms"] > 0, (shape, measured)
            assert (measured["explain_verdict"] == "passed") == (measured["candidates"] > 0)
    assert result["candidates"]["simple"]["candidates"] > 0
    assert result["candidates"]["wide_tree_isolate"]["candidates"] > 0
    for kind, measured in result["reads"].items():
        assert measured["requests"] > 0 and not measured["errors"], kind
    (claims,) = result["claims"]["runs"]
    assert claims["clients"] == 2 and claims["claims"] > 0 and claims["errors"] == 0
    assert result["claims"]["checked_providers"] > 0
    assert result["claims"]["over_capacity"] == []

    # The report renders both columns, a ratio and the cross-check.
    document = {
        "runs": [
            {**result, "system": system, "backend": "sqlite", "n": 30}
            for system in ("allotment", "peer")
        ]
    }
    text = report.render(document)
    assert "placement 16.0.0" in text and "1.00x" in text
    assert "candidate counts match on every shape" in text
    assert "| metric |" in report.render(document, markdown=True)
