"""audit.check_results on a real Iceberg catalog."""

import pytest

pytestmark = pytest.mark.integration


def test_check_results_are_recorded_once_per_run_and_source(settings, catalog):
    from lakehouse.core.checks import CheckResult, Status
    from lakehouse.quality.store import history, record

    results = [CheckResult("a", "silver", "t", Status.PASS, 1, "== 1"), CheckResult("b", "gold", "g", Status.FAIL, 0.5)]
    assert record(settings, dag_id="d", run_id="r1", source="audit", results=results) == 2
    record(settings, dag_id="d", run_id="r1", source="audit", results=results)  # a retried task
    record(settings, dag_id="d", run_id="r2", source="audit", results=results[:1])
    rows = history(settings, "d")
    assert sorted((r["run_id"], r["check_id"], r["status"]) for r in rows) == [
        ("r1", "a", "PASS"), ("r1", "b", "FAIL"), ("r2", "a", "PASS")]
    assert next(r for r in rows if r["check_id"] == "b")["observed"] == "0.5"


def test_volume_anomaly_reads_its_history_from_check_results(settings, catalog):
    from lakehouse.quality.store import record
    from lakehouse.quality.volume import volume_checks

    for run, total in enumerate([0, 5_000, 10_000, 15_100, 19_900, 25_000]):
        checks = volume_checks(settings, "nightly", {"bronze.kol_profiles_raw": ("bronze", total)})
        record(settings, dag_id="nightly", run_id=f"r{run}", source="volume", results=checks)
    today = volume_checks(settings, "nightly", {"bronze.kol_profiles_raw": ("bronze", 25_400)})
    assert today[0].status.value == "WARN" and today[0].extra["delta"] == 400


def test_a_nightly_narrowed_to_a_typo_fails_at_once_and_names_it(settings, catalog):
    """The `tables` Param accepts tables of the catalog or of a suite; a typo would have judged nothing."""
    from lakehouse.core.checks import CheckResult, Status
    from lakehouse.core.errors import UnknownSelectionError, is_data_breach
    from lakehouse.quality.store import record
    from lakehouse.quality.table_checks import scope, table_checks

    record(settings, dag_id="d", run_id="r", source="s", results=[CheckResult("a", "l", "t", Status.PASS)])
    record_table = "audit.check_results"  # exists now, has no suite
    assert scope({"tables": ["silver.kol_profiles", record_table]}, settings)[1] == (
        "silver.kol_profiles", record_table)  # a suite names it; the catalog has it
    with pytest.raises(UnknownSelectionError, match=r"unknown table\(s\) \['silver.kol_profile'\].*"
                       r"choose from .*'silver.kol_profiles'") as refused:
        table_checks(dag_id="nightly", run_id="typo", params={"tables": ["silver.kol_profile"]})
    assert is_data_breach(refused.value)  # no retries: the table will not appear
