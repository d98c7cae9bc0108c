"""The first run a new user makes, exactly as the docs tell it: `make serve` on a fresh state dir, unpause
`kol_ingest`, `kol_transform` and `kol_quality_nightly` in the README's order, produce data, ingest, wait.

A lake that has never published is not broken: the nightly's catch-up run (created the moment it is
unpaused) succeeds with every check skipped, and nothing alerts. Once the first transform published, the
nightly judges everything and passes; a table that existed and then vanished FAILs it.
"""

from __future__ import annotations

import pytest
from live_airflow import serving

from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import first_publish, get_catalog

pytestmark = [pytest.mark.e2e, pytest.mark.live]

README_ORDER = ("kol_ingest", "kol_transform", "kol_quality_nightly")  # docs/getting-started.md, README


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("first-run")) as live:  # default settings: the 120-minute deadline
        yield live


def _states(live, dag_id: str) -> list[str]:
    return [r["state"] for r in live.api.settle(dag_id)]


def test_a_first_run_is_green_sends_no_alert_and_a_vanished_table_still_fails(fresh):
    live = fresh
    for dag_id in README_ORDER:
        live.api.set_paused(dag_id, False)
    # the scheduler creates the nightly's latest 02:00 run at once, before anything was published
    caught_up = live.api.wait_for("kol_quality_nightly", lambda r: r["run_type"] == "scheduled", "scheduled")
    assert caught_up["state"] == "success", caught_up
    tasks = live.api.task_states("kol_quality_nightly", caught_up["dag_run_id"])
    assert tasks.pop("lake_published") == "success" and set(tasks.values()) == {"skipped"}, tasks
    assert "nothing published yet" in live.api.task_log("kol_quality_nightly", caught_up["dag_run_id"],
                                                        "lake_published")
    assert first_publish(get_catalog(live.settings)) is None

    produce_records(generate(DatasetSpec(profiles=200, bad_fraction=0.02, seed=5)).all_records(), live.settings)
    ingest = live.api.wait_run("kol_ingest", live.api.trigger("kol_ingest", {}))
    assert ingest["state"] == "success"
    live.api.wait_for("kol_transform", lambda r: r["run_type"] == "asset_triggered", "asset-triggered", 900)
    assert set(_states(live, "kol_ingest")) == set(_states(live, "kol_transform")) == {"success"}
    assert first_publish(get_catalog(live.settings))  # the first publish marked the catalog

    nightly = live.api.wait_run("kol_quality_nightly", live.api.trigger("kol_quality_nightly", {}))
    assert nightly["state"] == "success", live.api.task_states("kol_quality_nightly", nightly["dag_run_id"])
    report = live.report("kol_quality_nightly", nightly["dag_run_id"])
    assert report["statuses"]["FAIL"] == 0 and report["score"] == 100.0, report["statuses"]
    assert live.inbox == [] and live.slack == []  # no run was red and nothing alerted

    get_catalog(live.settings).drop_table("silver.kol_videos")  # a table that existed vanishes
    broken = live.api.wait_run("kol_quality_nightly", live.api.trigger("kol_quality_nightly", {}))
    assert broken["state"] == "failed"
    failed = {c["check_id"] for c in live.report("kol_quality_nightly", broken["dag_run_id"])["checks"]
              if c["status"] == "FAIL"}
    assert {"silver_exists.videos", "freshness.silver.kol_videos"} <= failed, failed
