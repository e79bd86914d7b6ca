"""Migrations 0012 (lab records) and 0015 (litters and thaws as records): lab records written
before them survive them (duplicate labels renamed, not dropped; test thaws and litters moved to
their own tables, then versioned and voidable; matings numbered), on SQLite and PostgreSQL."""

from __future__ import annotations

from flows import Api
from sqlalchemy import text


def _before_lab_records() -> str:
    """The revision migration 0012 (lab records) revises, however the chain is numbered."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    mine = next(r for r in script.walk_revisions() if (r.doc or "").startswith("lab records that can be trusted"))
    return mine.down_revision


def test_records_written_before_0012_survive_it(seeded):
    from flask_migrate import downgrade, upgrade

    from conversion.extensions import db

    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c")["id"]
    staff = db.session.execute(text("SELECT id FROM users WHERE email = 'staff.mrc@emma.example'")).scalar()
    db.session.remove()
    downgrade(revision=_before_lab_records())
    with db.engine.begin() as conn:
        now = "2026-03-01 10:00:00"
        for label in ("F0-1", "F0-1", "P1"):
            conn.execute(
                text(
                    "INSERT INTO animals (request_id, step, stage, label, sex, allele, recorded_by_id, "
                    "recorded_at) VALUES (:r, 1, 'breeding', :l, 'male', 'tm1a', :u, :t)"
                ),
                {"r": rid, "l": label, "u": staff, "t": now},
            )
        for n in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO matings (request_id, step, generation, method, set_up_on, dam, sire, "
                    "litter_born_on, pups_born, pups_weaned, recorded_by_id, recorded_at) VALUES "
                    "(:r, 1, :n, 'deleter', '2026-02-01', 'P1', 'Stud 7', :born, 6, 5, :u, :t)"
                ),
                {"r": rid, "n": n, "born": "2026-02-22" if n == 1 else None, "u": staff, "t": now},
            )
        conn.execute(
            text(
                "INSERT INTO qc_results (request_id, step, assay, result, animal_label, recorded_by_id, "
                "recorded_at) VALUES (:r, 1, 'tm1c PCR', 'pass', 'P1', :u, :t)"
            ),
            {"r": rid, "u": staff, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO cryopreservations (request_id, material, count, location, test_thaw, "
                "recorded_by_id, recorded_at) VALUES (:r, 'sperm', 20, 'T3', 'pass', :u, :t)"
            ),
            {"r": rid, "u": staff, "t": now},
        )
    upgrade(revision="heads")
    with db.engine.connect() as conn:
        labels = conn.execute(text("SELECT label FROM animals ORDER BY id")).scalars().all()
        assert labels[0] == "F0-1" and labels[1].startswith("F0-1 (#") and labels[2] == "P1"
        matings = conn.execute(text("SELECT number, dam_id, sire_id, dam, sire FROM matings ORDER BY id")).all()
        p1 = conn.execute(text("SELECT id FROM animals WHERE label = 'P1'")).scalar()
        assert [m[0] for m in matings] == [1, 2] and matings[0][1] == p1 and matings[0][2] is None
        assert matings[0][4] == "Stud 7"  # typed text kept
        litters = conn.execute(text("SELECT born_on, pups_born, pups_weaned FROM litters ORDER BY id")).all()
        assert len(litters) == 2 and str(litters[0][0]) == "2026-02-22" and litters[0][1:] == (6, 5)
        assert conn.execute(text("SELECT animal_id FROM qc_results")).scalar() == p1
        thaw = conn.execute(text("SELECT result, thawed_on FROM cryo_thaws")).one()
        assert thaw[0] == "pass" and str(thaw[1]) == "2026-03-01"
        assert conn.execute(text("SELECT MIN(version), MAX(version) FROM animals")).one() == (1, 1)
        # migration 0015: litters and test thaws are records of their own (version 1, in force),
        # each thaw knows its request
        for table in ("litters", "cryo_thaws"):
            assert conn.execute(text(f"SELECT MIN(version), MAX(version) FROM {table}")).one() == (1, 1)
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE voided_at IS NOT NULL")).scalar() == 0
        assert conn.execute(text("SELECT request_id FROM cryo_thaws")).scalar() == rid
