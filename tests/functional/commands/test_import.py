"""``db import`` from nova_api- and upstream-shaped sources on every backend into every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allotment import cli
from allotment.store import importer
from allotment.store import tables as t
from allotment.store.engine import Database
from tests import databases
from tests.functional.commands import logical
from tests.functional.commands.conftest import SourceFactory
from tests.sources import INCOMPLETE, uid

SHAPES = ("nova_api", "upstream")


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _import(source_url: str, db: Database, **options: object) -> importer.ImportReport:
    return importer.run_import(source_url, db, importer.ImportOptions(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("source_backend", databases.BACKENDS)
def test_import_copies_everything(
    db: Database, source_db: SourceFactory, source_backend: str, shape: str
) -> None:
    source_url = source_db(source_backend, shape)
    # A small batch size makes every table span several batches.
    report = _import(source_url, db, batch_size=7)
    assert report.ok
    expected, got = logical.read(source_url), logical.read(_url(db))
    assert got.providers == expected.providers
    assert got.inventories == expected.inventories
    assert got.traits == expected.traits
    assert got.aggregates == expected.aggregates
    assert got.allocations == expected.allocations
    assert got.usages == expected.usages
    assert got.consumers == expected.consumers
    assert got.custom_classes == expected.custom_classes
    assert len(expected.providers) == 6 * 4 + 1 + 1
    if shape == "nova_api":
        assert report.schema.kind == "nova_api"
        assert report.roots_set > 0
        assert report.incomplete_consumers > 0
        assert any("can_host" in note for note in report.schema.notes)
    else:
        assert report.schema.kind == "placement at a082b8bb98d0"
        assert report.roots_set == report.incomplete_consumers == 0


@pytest.mark.parametrize("shape", SHAPES)
def test_ids_are_kept_and_standard_ids_remapped(
    db: Database, source_db: SourceFactory, shape: str
) -> None:
    source_url = source_db("sqlite", shape)
    _import(source_url, db)
    src = sa.create_engine(source_url)
    with src.connect() as s, db.read() as d:
        assert (
            s.execute(sa.text("SELECT id, uuid FROM resource_providers ORDER BY id")).all()
            == d.execute(sa.text("SELECT id, uuid FROM resource_providers ORDER BY id")).all()
        )
        assert (
            s.execute(sa.text("SELECT id FROM allocations ORDER BY id")).all()
            == d.execute(sa.text("SELECT id FROM allocations ORDER BY id")).all()
        )
        custom = "SELECT id, name FROM resource_classes WHERE name LIKE 'CUSTOM%' ORDER BY id"
        assert s.execute(sa.text(custom)).all() == d.execute(sa.text(custom)).all()
        # VCPU is 0 in the target whatever id the source gave it.
        vcpu = (
            d.execute(
                sa.text(
                    "SELECT DISTINCT i.resource_class_id FROM inventories i JOIN resource_classes c"
                    " ON c.id = i.resource_class_id WHERE c.name = 'VCPU'"
                )
            )
            .scalars()
            .all()
        )
        assert vcpu == [0]
    src.dispose()


def test_sequences_continue_after_the_imported_ids(db: Database, source_db: SourceFactory) -> None:
    source_url = source_db("sqlite", "upstream")
    _import(source_url, db)
    with db.write() as conn:
        top = conn.execute(sa.select(sa.func.max(t.resource_providers.c.id))).scalar()
        new_id = conn.execute(
            t.resource_providers.insert().values(uuid=uid("rp", "new"), name="new", generation=0)
        ).inserted_primary_key[0]
        assert new_id > top
        top_alloc = conn.execute(sa.select(sa.func.max(t.allocations.c.id))).scalar()
        alloc_id = conn.execute(
            t.allocations.insert().values(
                resource_provider_id=new_id,
                consumer_id=uid("c", "new"),
                resource_class_id=0,
                used=1,
            )
        ).inserted_primary_key[0]
        assert alloc_id > top_alloc
        trait_id = conn.execute(t.traits.insert().values(name="CUSTOM_NEW")).inserted_primary_key[0]
        assert (
            trait_id
            > conn.execute(
                sa.select(sa.func.max(t.traits.c.id)).where(t.traits.c.name != "CUSTOM_NEW")
            ).scalar()
        )


def _state(db: Database) -> dict[str, list]:
    with db.read() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
            for table in t.metadata.sorted_tables
        }


def _seed(db: Database) -> None:
    with db.write() as conn:
        conn.execute(
            t.resource_providers.insert().values(
                id=1, uuid=uid("rp", "pre"), name="pre-existing", generation=0
            )
        )
        conn.execute(t.resource_providers.update().values(root_provider_id=1))
        conn.execute(t.resource_classes.insert().values(id=10000, name="CUSTOM_PRE"))
        conn.execute(
            t.inventories.insert().values(
                resource_provider_id=1,
                resource_class_id=10000,
                total=5,
                reserved=0,
                min_unit=1,
                max_unit=5,
                step_size=1,
                allocation_ratio=1.0,
            )
        )


def test_non_empty_target_is_refused_without_force(db: Database, source_db: SourceFactory) -> None:
    _seed(db)
    before = _state(db)
    with pytest.raises(importer.TargetNotEmpty, match="--force"):
        _import(source_db("sqlite", "nova_api"), db)
    assert _state(db) == before


def test_force_replaces_the_target(db: Database, source_db: SourceFactory) -> None:
    _seed(db)
    source_url = source_db("sqlite", "nova_api")
    report = _import(source_url, db, force=True)
    assert report.wiped["resource_providers"] == 1
    got = logical.read(_url(db))
    assert got.providers == logical.read(source_url).providers
    assert "CUSTOM_PRE" not in got.custom_classes


@pytest.mark.parametrize("failing_table", ["resource_providers", "allocations", "consumers"])
def test_interrupted_import_leaves_the_target_unchanged(
    db: Database, source_db: SourceFactory, failing_table: str
) -> None:
    _seed(db)
    before = _state(db)
    batches: list[str] = []

    def fail_midway(table: str, done: int, total: int) -> None:
        batches.append(table)
        if table == failing_table and batches.count(table) == 3:
            raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected failure"):
        _import(source_db("sqlite", "upstream"), db, force=True, batch_size=5, on_batch=fail_midway)
    assert batches.count("resource_providers") >= 3  # it really was midway
    assert _state(db) == before


def test_mismatch_rolls_back_and_reports(
    db: Database, source_db: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = importer._Copier._allocation_row

    def corrupt(self: importer._Copier, row: sa.Row) -> dict:
        data = original(self, row)
        if row.id == 1:
            data["used"] += 1
        return data

    monkeypatch.setattr(importer._Copier, "_allocation_row", corrupt)
    with pytest.raises(importer.VerificationFailed) as failure:
        _import(source_db("sqlite", "upstream"), db)
    sums = {s.name: s for s in failure.value.report.sums}
    assert sums["usage per provider"].mismatches == 1
    assert sums["allocations per consumer"].mismatches == 1
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.allocations)).scalar() == 0


def test_cli_import_prints_the_comparison(
    db: Database, source_db: SourceFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    source_url = source_db("sqlite", "nova_api")
    code = cli.main(
        ["--database", _url(db), "db", "import", "--from", source_url, "--batch-size", "50"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "source: nova_api" in out
    assert "| allocations " in out and "MISMATCH" not in out
    assert "usage per provider" in out and "allocations per consumer" in out
    assert "rows/s" in out
    assert err == ""  # no progress line when stderr is not a terminal
    code = cli.main(["--database", _url(db), "db", "import", "--from", source_url])
    assert code == 2
    assert "not empty" in capsys.readouterr().err


def test_cli_rejects_a_source_without_placement_tables(
    db: Database, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.sqlite"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    code = cli.main(["--database", _url(db), "db", "import", "--from", f"sqlite:///{empty}"])
    assert code == 2
    assert "not a nova_api or placement database" in capsys.readouterr().err


def test_incomplete_consumers_use_the_configured_project(
    db: Database, source_db: SourceFactory
) -> None:
    _import(
        source_db("sqlite", "nova_api"),
        db,
        incomplete_project_id="proj-x",
        incomplete_user_id="user-y",
    )
    got = logical.read(_url(db))
    incomplete = [c for c in got.consumers.values() if c[0] == "proj-x"]
    assert incomplete and all(c[1] == "user-y" for c in incomplete)
    assert not [c for c in got.consumers.values() if c[0] == INCOMPLETE]


@pytest.mark.parametrize("source_backend", databases.BACKENDS)
def test_source_is_read_in_a_read_only_transaction(
    source_db: SourceFactory, source_backend: str
) -> None:
    from allotment.store import source

    engine = source.open_engine(source_db(source_backend, "upstream"))
    with source.read_only(engine) as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM resource_providers")).scalar() > 0
        with pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text("UPDATE resource_providers SET generation = 99"))
    engine.dispose()


def test_ctrl_c_during_the_cli_import_leaves_the_target_empty(
    db: Database,
    source_db: SourceFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from allotment.commands.output import Progress

    def interrupt(self: Progress, table: str, done: int, total: int) -> None:
        if table == "allocations" and done > 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "__call__", interrupt)
    code = cli.main(
        [
            "--database",
            _url(db),
            "db",
            "import",
            "--from",
            source_db("sqlite", "upstream"),
            "--batch-size",
            "10",
        ]
    )
    assert code == 130
    assert "interrupted, nothing was imported" in capsys.readouterr().err
    with db.read() as conn:
        for table in (t.resource_providers, t.allocations, t.consumers, t.inventories):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
