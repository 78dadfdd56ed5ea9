"""``allotment tree`` and ``allotment top`` on every backend, read from the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allotment import cli
from allotment.store import provider_tree
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder, make_uuid


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


@pytest.fixture
def cloud(db: Database) -> Database:
    """Two computes (one with NUMA children), a sharing provider, an empty provider."""
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider(
            "cn1",
            inventory={
                "VCPU": {"total": 16, "allocation_ratio": 4.0},
                "MEMORY_MB": {"total": 4096, "reserved": 1024, "allocation_ratio": 1.5},
            },
            used={"VCPU": 48, "MEMORY_MB": 1000},
            traits=["HW_CPU_X86_AVX2"],
            aggregates=["agg1"],
        )
        for n in (0, 1):
            b.provider(f"cn1-numa{n}", parent="cn1", inventory={"PCPU": 8}, used={"PCPU": 2 + n})
        b.provider("cn2", inventory={"VCPU": 8}, used={"VCPU": 1}, aggregates=["agg2"])
        b.provider(
            "ss",
            inventory={"DISK_GB": 1000},
            used={"DISK_GB": 900},
            traits=["MISC_SHARES_VIA_AGGREGATE"],
            aggregates=["agg1"],
        )
        b.provider("empty")
    return db


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_store_reads_inventory_usage_traits_and_aggregates(cloud: Database) -> None:
    with cloud.read() as conn:
        states = {p.name: p for p in provider_tree.read(conn)}
    assert set(states) == {"cn1", "cn1-numa0", "cn1-numa1", "cn2", "ss", "empty"}
    cn1 = states["cn1"]
    assert cn1.usages == {"VCPU": 48, "MEMORY_MB": 1000}
    assert cn1.inventories["MEMORY_MB"].reserved == 1024
    assert cn1.traits == ("HW_CPU_X86_AVX2",)
    assert cn1.aggregates == (make_uuid("agg1"),)
    assert states["cn1-numa1"].root_provider_uuid == cn1.uuid
    assert states["empty"].inventories == {} and states["empty"].usages == {}
    with cloud.read() as conn:
        some = {p.name for p in provider_tree.read(conn, ["cn1-numa0"])}
    assert some == {"cn1", "cn1-numa0", "cn1-numa1", "ss"}  # the tree and sharing providers


def test_tree_json_nests_children_and_lists_sharing_providers(
    cloud: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--database", _url(cloud), "tree", "--json", "cn1")
    assert code == 0
    (tree,) = json.loads(out)
    assert tree["name"] == "cn1"
    assert [c["name"] for c in tree["children"]] == ["cn1-numa0", "cn1-numa1"]
    assert tree["children"][1]["inventories"]["PCPU"]["used"] == 3
    memory = tree["inventories"]["MEMORY_MB"]
    assert memory["capacity"] == int((4096 - 1024) * 1.5) and memory["used"] == 1000
    assert tree["sharing"] == [{"uuid": make_uuid("ss"), "name": "ss", "via": [make_uuid("agg1")]}]


def test_tree_draws_every_tree_with_bars(
    cloud: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--database", _url(cloud), "tree", "--width", "10")
    assert code == 0
    assert "├── cn1-numa0" in out and "└── cn1-numa1" in out
    assert "VCPU      [########..] 48/64" in out  # 48 of 16 x 4
    assert "DISK_GB [#########.] 900/1000" in out
    assert "empty (" in out and "no inventory" in out
    assert "~ shares with it: ss" in out
    assert out.index("cn1 (") < out.index("cn2 (") < out.index("empty (")


def test_tree_of_an_unknown_provider_is_one_line_and_exit_1(
    cloud: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "--database", _url(cloud), "tree", "cn1", "nope")
    assert code == 1 and out == ""
    assert err.strip() == "allotment: No resource provider named or with uuid nope"


def test_top_orders_by_fullness(cloud: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--database", _url(cloud), "top", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["resource_class"]) for r in rows] == [
        ("ss", "DISK_GB"),
        ("cn1", "VCPU"),
        ("cn1-numa1", "PCPU"),
        ("cn1-numa0", "PCPU"),
        ("cn2", "VCPU"),
    ]
    assert rows[1]["used"] == 48 and rows[1]["capacity"] == 64


def test_top_by_class_with_a_limit(cloud: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--database", _url(cloud), "top", "--class", "VCPU", "--limit", "1")
    assert code == 0
    assert "| cn1 " in out and "cn2" not in out and "75.0%" in out
    code, out, _ = _run(capsys, "--database", _url(cloud), "top", "--class", "VGPU")
    assert code == 0 and out.strip() == "no provider has VGPU inventory"


def test_an_unreachable_database_is_one_line_and_exit_2(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    code, out, err = _run(capsys, "--database", url, "top")
    assert code == 2 and out == ""
    assert err.startswith("allotment: cannot read the database:") and "\n" not in err.strip()


def test_url_mode_reads_the_same_trees_through_the_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--url`` (public API) and the database give the same JSON for a served cloud."""
    from tests.browser import cloud as seeded

    database = f"sqlite:///{tmp_path / 'served.sqlite'}"
    server = seeded.serve(tmp_path, database)
    try:
        seeded.seed(server.base_url)
        for argv in (["tree", "--json"], ["tree", "--json", "compute1-numa1"], ["top", "--json"]):
            code, from_db, _ = _run(capsys, "--database", database, *argv)
            assert code == 0
            code, from_api, _ = _run(capsys, *argv, "--url", server.base_url)
            assert code == 0
            assert json.loads(from_api) == json.loads(from_db), argv
        code, _, err = _run(capsys, "tree", "nope", "--url", server.base_url)
        assert code == 1 and "nope" in err
        code, _, err = _run(capsys, "top", "--url", server.base_url, "--token", "x:y")
        assert code == 2 and err.startswith("allotment: GET /resource_providers: 403")
    finally:
        server.stop()
    code, _, err = _run(capsys, "top", "--url", server.base_url)
    assert code == 2 and err.startswith(f"allotment: cannot reach {server.base_url}")
