"""The platform as its users run it: `lakehouse serve` (the embedded broker and Redis, then `airflow
standalone`: API server and UI, scheduler, DAG processor, triggerer, LocalExecutor) on free ports, driven
only through Airflow's REST API v2 and its UI in headless Chromium (Playwright on Debian's chromium).

The tests share one live Airflow and run in file order, as a user's day does: ingest -> asset-triggered
transform, the nightly (scheduled and triggered, with its Deadline Alert and its reports), Bronze that no
transform has read yet (WARN, and a strict gate fails), the readiness DAG from the trigger form, a transform
whose WARN waits for a reviewer (holding the lease while another WAP chain and maintenance wait) and is
approved in the UI, a rejected and a timed-out review, then a breached gate. Each test that reads a published lake asks for the
``published_lake`` fixture (made once, by the first), so each also runs alone with ``-k``. Alerts go to an
SMTP server and a Slack webhook the module starts.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import datetime
from html import escape
from urllib.parse import quote

import pytest
import redis
from conftest import ALERTS_TO, html_part, lineage_events
from live_airflow import AirflowApi, serving
from pyiceberg.expressions import EqualTo

from lakehouse.config import Settings
from lakehouse.core.catalogue import spec_of
from lakehouse.core.entities import WAP_TABLES, entities
from lakehouse.core.names import BRONZE_TABLES, PLATFORMS, TOPICS, bronze_table_name, run_branch
from lakehouse.datagen import DatasetSpec, generate
from lakehouse.datagen.producer import produce_records
from lakehouse.iceberg.catalog import get_catalog
from lakehouse.ingest.consumer import ingest_topic
from lakehouse.ml import registry
from lakehouse.orchestration.airflow_env import USERS_ENV, openlineage_env
from lakehouse.orchestration.quality_ui import run_url
from lakehouse.quality.report import report_path
from lakehouse.quality.store import history, run_results
from lakehouse.quality.suites import lint
from lakehouse.serving.redis_publish import (
    current_version,
    final_key,
    list_key,
    profile_key,
    published_counts,
    trending_key,
)

pytestmark = [pytest.mark.e2e, pytest.mark.live]


REVIEWER, VIEWER = "reviewer", "viewer"
POLL = 0.5


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    # a short deadline: 6 s after it was queued, a nightly that runs its checks is late (spark-submit alone
    # takes longer), so the scheduled run's Deadline Alert fires. Besides admin, a reviewer (role user: may
    # answer a review form) and a viewer (read only); the suites are a copy a test may add a rule to.
    root = tmp_path_factory.mktemp("live")
    suites = shutil.copytree(Settings.from_env().expectations_dir, root / "expectations")
    with serving(root, {"LAKEHOUSE_NIGHTLY_DEADLINE_MINUTES": "0.1", "LAKEHOUSE_EXPECTATIONS_DIR": str(suites),
                        USERS_ENV: f"admin:admin,{REVIEWER}:user,{VIEWER}:viewer"}) as live:
        yield live


@pytest.fixture(scope="module")
def browser(live):
    """Headless Chromium, logged in to the Airflow UI through its login form."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        _log_in(page, live.url, "admin", live.password)
        yield page
        chromium.close()


def _log_in(page, url: str, user: str, password: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


@pytest.fixture(scope="module")
def published_lake(live) -> dict:
    """The day's first data, as a user's first run makes it: records produced, ``kol_ingest`` triggered with
    Params, and the ``kol_transform`` its Bronze assets start. Made once per module by the first test that
    needs a published lake, so each test also runs alone (``-k``)."""
    dataset = generate(DatasetSpec(profiles=300, bad_fraction=0.02, seed=81))
    produce_records(dataset.all_records(), live.settings)
    live.api.set_paused("kol_transform", False)
    live.api.set_paused("kol_ingest", False)  # also starts the latest 15-minute run, as unpausing does
    run_id = live.api.trigger("kol_ingest", {"max_records": 100_000, "batch_size": 5_000})
    ingest = live.api.wait_run("kol_ingest", run_id)
    # nobody triggers kol_transform: the Bronze asset events do, one run for the ingest run that found the
    # records (its three topics' events come together); the other ingest run found nothing and emitted none
    if ingest["state"] == "success":
        live.api.wait_for("kol_transform", lambda r: r["run_type"] == "asset_triggered", "asset-triggered")
    live.api.settle("kol_ingest")  # long done: a second transform would be queued by now
    return {"dataset": dataset, "ingest": ingest, "transforms": live.api.settle("kol_transform")}


def test_ingest_triggered_with_params_starts_transform_through_its_assets(live, published_lake):
    dataset, transforms = published_lake["dataset"], published_lake["transforms"]
    assert published_lake["ingest"]["state"] == "success"
    assert [(r["run_type"], r["state"]) for r in transforms] == [("asset_triggered", "success")], transforms

    catalog = get_catalog(live.settings)
    bronze = {t: catalog.load_table(bronze_table_name(t)).scan().count() for t in dataset.counts()}
    assert bronze == dataset.counts()  # every produced record is in Bronze, once
    gold = catalog.load_table("gold.kol_summary")
    assert gold.scan().count() == catalog.load_table("silver.kol_profiles").scan().count() > 270
    for table in WAP_TABLES:
        assert set(catalog.load_table(table).refs()) == {"main"}, table  # audit branches published and dropped
    # readers (and the nightly's serving checks) see this Gold: kol_transform published it to Redis
    per_platform = {p: len(gold.scan(row_filter=f"platform == '{p}'").to_arrow()) for p in PLATFORMS}
    assert {p: c["final"] for p, c in published_counts(live.settings, PLATFORMS).items()} == per_platform
    serving = [c for c in run_results(live.settings, "kol_transform", transforms[0]["dag_run_id"])
               if c.layer == "serving"]
    assert serving and all(c.status == "PASS" for c in serving), serving
    # and the lineage of that run, as Marquez would receive it: Bronze -> Silver -> Gold, audited
    lineage = {e["job"]["name"]: e for e in lineage_events("kol_transform", transforms[0]["dag_run_id"],
                                                           json.loads(openlineage_env(live.settings)[
                                                               "AIRFLOW__OPENLINEAGE__TRANSPORT"]))
               if e["eventType"] == "COMPLETE"}
    assert {d["name"] for d in lineage["kol_transform.bronze_to_silver"]["inputs"]} == set(BRONZE_TABLES.values())
    assert {d["name"] for d in lineage["kol_transform.silver_to_gold"]["outputs"]} == {"gold.kol_summary"}
    assert {d["name"] for d in lineage["kol_transform.audit_branch"]["inputs"]} >= {
        *(e.silver_table for e in entities().values()), "gold.kol_summary"}


def test_nightly_succeeds_scheduled_and_triggered_reports_and_its_deadline_alert_fires(live, published_lake,
                                                                                        chromium_dom):
    live.api.set_paused("kol_quality_nightly", False)  # the scheduler creates the latest 02:00 run by itself
    scheduled = live.api.wait_for("kol_quality_nightly", lambda r: r["run_type"] == "scheduled", "scheduled")
    triggered = live.api.wait_run("kol_quality_nightly", live.api.trigger("kol_quality_nightly", {}))
    assert scheduled["state"] == triggered["state"] == "success", (scheduled, triggered)
    logical = datetime.fromisoformat(scheduled["logical_date"])
    assert (logical.hour, logical.minute) == (2, 0)
    nightly = live.api.call("GET", "/dags/kol_quality_nightly")
    next_run = datetime.fromisoformat(nightly["next_dagrun_run_after"])
    assert (next_run.hour, next_run.minute) == (2, 0) and next_run > logical
    for run in (scheduled, triggered):  # every check kind on every layer of main, all passing, each recorded
        report = live.report("kol_quality_nightly", run["dag_run_id"])
        assert report["score"] == 100.0 and report["statuses"]["FAIL"] == 0, report["statuses"]
        assert {c["layer"] for c in report["checks"]} >= {"bronze", "silver", "gold", "serving", "health"}
        assert {c["check_id"].split(".")[0] for c in report["checks"]} >= {
            "suite", "lineage", "accounting", "freshness", "volume", "silver_vs_bronze_keys", "redis_freshness",
            "health"}
        assert {c["check_id"] for c in report["checks"] if c["layer"] == "health" and c["status"] != "PASS"} == {
            "health.spark_workers"}  # a SKIP: local Spark
        assert len(report["data_docs"]) >= 8 and all(p.endswith(".html") for p in report["data_docs"].values())
        assert len(run_results(live.settings, "kol_quality_nightly", run["dag_run_id"])) == len(report["checks"])
        assert uncatalogued(report) == []  # every check id the nightly records has its docs entry
    first, second = (report_path(live.settings.reports_dir, "kol_quality_nightly", run["dag_run_id"])
                     for run in (scheduled, triggered))
    dom = chromium_dom(first.with_suffix(".html"))  # the first nightly's page, rendered
    assert 'id="checks"' in dom and 'id="layer-bronze"' in dom and "the trend starts with the next run" in dom
    trend = chromium_dom(second.with_suffix(".html"))
    assert trend.count("<circle") >= 2 * len(json.loads(second.read_text())["trend"])  # two runs per table
    # not finished 6 s after it was queued: the triggerer mailed the Deadline Alert
    missed = _wait_for(live.inbox, lambda m: "deadline missed" in m["Subject"]
                       and scheduled["dag_run_id"] in m["Subject"])
    assert missed["To"] == ALERTS_TO and "kol_quality_nightly" in html_part(missed)
    # and on Slack, through the webhook connection, with the link to the run
    posted = _wait_for(live.slack, lambda p: "deadline missed" in p["text"] and scheduled["dag_run_id"] in p["text"])
    assert f"/dags/kol_quality_nightly/runs/{scheduled['dag_run_id']}|Open the run>" in posted["text"]


def uncatalogued(report: dict) -> list[str]:
    """The check ids of a report that match no entry of the check catalogue (the docs' check reference)."""
    return [c["check_id"] for c in report["checks"] if spec_of(c["check_id"]) is None]


def _wait_for(received: list, predicate, timeout: float = 120):
    """The first of ``received`` (mails or webhook posts, arriving from the live stack) matching ``predicate``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if matching := [m for m in received if predicate(m)]:
            return matching[0]
        time.sleep(2)
    raise AssertionError(f"nothing matching arrived within {timeout}s; got {received}")


def test_bronze_no_transform_has_read_yet_warns_and_fails_only_a_strict_gate(live, published_lake):
    for dag_id in ("kol_ingest", "kol_transform"):  # nothing may pick the new records up
        live.api.set_paused(dag_id, True)
        live.api.settle(dag_id)
    produce_records(generate(DatasetSpec(profiles=40, bad_fraction=0.02, seed=72)).all_records(), live.settings)
    for topic in TOPICS.values():
        ingest_topic(topic, live.settings, log=lambda *_: None)
    live.api.set_paused("kol_quality_nightly", False)  # alone (-k), nothing else has unpaused it
    run_id = live.api.trigger("kol_quality_nightly", {"fail_on_warn": True})
    assert live.api.wait_run("kol_quality_nightly", run_id)["state"] == "failed"
    states = live.api.task_states("kol_quality_nightly", run_id)
    assert states["quality_gate"] == "failed" and states["readiness_report"] == "success", states
    report = live.report("kol_quality_nightly", run_id)
    # new Bronze commits Silver has not read: a WARN per table, not a FAIL; only fail_on_warn fails the run
    assert sorted(c["check_id"] for c in report["checks"] if c["status"] == "WARN") == [
        f"lineage.silver_up_to_date.{e}" for e in ("comments", "profiles", "videos")]
    assert report["statuses"]["FAIL"] == 0 and report["score"] >= 95.0 and not report["gate"]["passed"]


def _open_trigger_form(page, url: str, dag_id: str):
    page.goto(f"{url}/dags/{dag_id}")
    page.get_by_test_id("trigger-dag-button").click()


def test_trigger_form_refuses_bad_params_runs_e2e_and_shows_its_data_quality_view(live, browser, tmp_path):
    # kol_platform_e2e accounts for the records it produces and ingests itself: keep the 15-minute ingest
    # (and what its assets start) from taking them, as an engineer does before a readiness run
    live.api.set_paused("kol_ingest", True)
    live.api.set_paused("kol_transform", True)
    live.api.settle("kol_ingest")
    live.api.settle("kol_transform")
    page = browser
    _open_trigger_form(page, live.url, "kol_platform_e2e")
    page.get_by_role("button", name="Advanced Options").click()
    conf = json.dumps({"profiles": -5, "bad_fraction": 0.02, "seed": 42})
    page.locator(".monaco-editor").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(conf)  # typed keys would get the editor's auto-closed quotes and braces
    assert page.locator(".monaco-editor .view-lines").first.inner_text().replace("\xa0", " ") == conf
    page.get_by_test_id("trigger-dag-submit").click()
    page.get_by_role("dialog").get_by_text("Invalid input for param profiles: -5 is less than the minimum of 1") \
        .wait_for()
    assert live.api.runs("kol_platform_e2e") == []  # refused: no run was created

    _open_trigger_form(page, live.url, "kol_platform_e2e")
    field_id = page.locator('[id="number-input:element_profiles:inc"]').get_attribute("aria-controls")
    field = page.locator(f'[id="{field_id}"]')
    field.fill("2000")
    field.press("Tab")
    page.get_by_test_id("trigger-dag-submit").click()
    page.get_by_text("Dag run has been successfully triggered").wait_for()
    page.goto("about:blank")  # an open DAG page polls the API server every few seconds
    [created] = live.api.runs("kol_platform_e2e")
    assert created["conf"]["profiles"] == 2000
    run = live.api.wait_run("kol_platform_e2e", created["dag_run_id"], timeout=900)
    assert run["state"] == "success", live.api.task_states("kol_platform_e2e", run["dag_run_id"])

    page.goto(f"{live.url}/dags/kol_platform_e2e/runs/{quote(run['dag_run_id'], safe='')}")
    page.get_by_role("link", name="Data quality").click()
    view = page.frame_locator("iframe")
    view.get_by_text("PASSED").first.wait_for()
    shot = tmp_path / "data-quality-view.png"
    page.screenshot(path=str(shot))
    print(f"Data quality view of {run['dag_run_id']}: {shot}")
    report = _e2e_published_and_reported(live.settings, run["dag_run_id"])
    # the view is the run's own self-contained report: every check it recorded, none failing
    assert view.locator(".check").count() == len(report["checks"]) and view.locator(".check.fail").count() == 0
    assert view.locator("#layer-gold").count() == 1 and view.get_by_text("Data Docs").count() > 0


def _e2e_published_and_reported(settings: Settings, run_id: str) -> dict:
    """The readiness run's results: Redis holds one entry per Gold row, scored by the champion it trained,
    and its report is every check it recorded, all passing."""
    gold = get_catalog(settings).load_table("gold.kol_summary").scan().to_arrow().to_pylist()
    client = redis.Redis.from_url(settings.redis_url)
    version = current_version(client)
    champion = registry.champion(settings)
    assert champion and champion["auc"] >= 0.85
    for platform in PLATFORMS:
        rows = [r for r in gold if r["platform"] == platform]
        listing = json.loads(client.get(list_key(platform, version)))
        assert listing == json.loads(client.get(list_key(platform)))  # the test plan's unversioned name
        assert len(listing) == min(settings.serving_list_size, len(rows))  # the top of the platform, bounded
        assert client.zcard(final_key(platform, version)) == len(rows)
        assert client.zcard(trending_key(platform, version)) == sum(r["trending_reason"] is None for r in rows)
        assert {e["kol_id"] for e in listing} <= {r["kol_id"] for r in rows}
        assert all(r["trust_model_version"] == champion["version"] and 20 <= r["trust_score"] <= 100
                   for r in rows)
        stored = client.hgetall(profile_key(platform, rows[0]["kol_id"], version))
        assert int(stored[b"followers_count"]) == rows[0]["followers_count"]
    report = json.loads((settings.reports_dir / "kol_platform_e2e" / "latest.json").read_text())
    assert report["run_id"] == run_id and report["gate"]["passed"] and report["score"] == 100.0
    recorded = [r for r in history(settings, "kol_platform_e2e") if r["run_id"] == run_id]
    assert {r["source"] for r in recorded} == {"readiness_report", "audit_branch", "train_trust_model",
                                              "publish_redis"}
    assert len(recorded) == len(report["checks"])
    assert {c["check_id"] for c in report["checks"]} >= {
        "lineage.gold_row_traces_to_bronze", "accounting.profiles", "redis_vs_gold.tiktok.list",
        "redis.final_score_formula.youtube", "ml.trust.auc", "ml.trust.behavioural.low_quality"}
    assert report["data_docs"]["gold.kol_summary"].endswith(".html")
    assert uncatalogued(report) == []  # every check id a readiness run records has its docs entry
    assert lint(catalog=get_catalog(settings)) == []  # every shipped suite matches the live schemas
    assert report["counts"]["bronze"]["profiles"] >= report["produced"]["kol-profiles-raw"]
    return report


@pytest.fixture
def warning_suite(live):
    """A rule a team adds as a warning, dropped into the live stack's suites (read at each audit): every
    audit of Gold WARNs on it until it is removed again."""
    path = live.settings.state_dir.parent / "expectations" / "gold" / "kol_summary.json"  # the live stack's copy
    original = path.read_text()
    suite = json.loads(original)
    suite["expectations"].append({"type": "expect_column_max_to_be_between",
                                  "kwargs": {"column": "followers_count", "max_value": 1},
                                  "meta": {"severity": "warning"}})
    path.write_text(json.dumps(suite))
    live.api.set_paused("kol_ingest", True)  # each run reads the lake as the test leaves it: no new records
    live.api.settle("kol_ingest")
    live.api.set_paused("kol_transform", False)
    live.api.settle("kol_transform")
    yield WARNED_RULE
    path.write_text(original)


WARNED_RULE = "suite.gold.kol_summary.expect_column_max_to_be_between.followers_count"


def _review_waiting(live, seed: int, conf: dict | None = None) -> tuple[str, int]:
    """New records in Bronze, then a ``kol_transform`` run under policy review, once its ``review_warns`` task
    waits for an answer; and ``main``'s Gold snapshot (the review holds the lease: nothing else can move it)."""
    new_kols = DatasetSpec(profiles=12, bad_fraction=0.0, seed=seed, first_index=seed * 1000)  # no KOL updated
    produce_records(generate(new_kols).all_records(), live.settings)
    for topic in TOPICS.values():
        ingest_topic(topic, live.settings, log=lambda *_: None)
    run_id = live.api.trigger("kol_transform", {"warn_policy": "review", **(conf or {})})
    live.api.wait_task("kol_transform", run_id, "review_warns", {"awaiting_input"})
    _parked(live, run_id)
    return run_id, _gold_main(live)


def _parked(live, run_id: str, timeout: float = 60) -> None:
    """Wait until the scheduler has processed the exit of the process that parked the task: Airflow 3.3.2
    marks a task failed ("state changed externally") when an answer resumes it before that event, which a
    script answering within a second of the park can hit; a person reading the form never does."""
    log, parked = live.settings.state_dir.parent / "serve.log", (
        "Received executor event with state success for task instance TaskInstanceKey(dag_id='kol_transform', "
        f"task_id='review_warns', run_id='{run_id}'")
    deadline = time.monotonic() + timeout
    while parked not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"the scheduler did not see {run_id}'s review park in {timeout}s"
        time.sleep(POLL)


def _gold_main(live) -> int:
    return get_catalog(live.settings).load_table("gold.kol_summary").current_snapshot().snapshot_id


def _hitl_path(run_id: str) -> str:
    return f"/dags/kol_transform/dagRuns/{quote(run_id, safe='')}/taskInstances/review_warns/-1/hitlDetails"


def _decision(live, run_id: str) -> dict:
    [row] = [c for c in run_results(live.settings, "kol_transform", run_id) if c.check_id == "review.decision"]
    return row.__dict__


def _form_and_alert(live, run_id: str, rule: str) -> str:
    """The review's one alert per channel (the WARN, the form's link) and its form (verdict, WARN, branch
    diff, Data quality link); returns the form's link."""
    body = html_part(_wait_for(live.inbox, lambda m: "review waiting" in m["Subject"] and run_id in m["Subject"]))
    assert rule in body
    form = body.split('href="')[1].split('"')[0]
    assert form.startswith(live.url) and "/required_actions" in form, form
    post = _wait_for(live.slack, lambda p: "review waiting" in p["text"] and run_id in p["text"])
    assert "|Review: approve or reject>" in post["text"] and rule in post["text"]
    detail = live.api.call("GET", _hitl_path(run_id))
    assert detail["options"] == ["Approve", "Reject"] and list(detail["params"]) == ["comment"]
    # the verdict with as many WARNs as the run recorded (the rule WARNs on the whole table and on the change;
    # records an earlier test left unread in Bronze may add the score guard's), each WARN, the diff, the link
    warns = [c.check_id for c in run_results(live.settings, "kol_transform", run_id) if c.status == "WARN"]
    assert {rule, rule.replace("kol_summary.", "kol_summary.increment.")} <= set(warns)
    assert f"Audit verdict: PASS with {len(warns)} WARN(s)" in detail["body"]
    assert all(f"`{w}`" in detail["body"] for w in warns)
    assert re.search(r"`gold\.kol_summary`: \+\d+ ~\d+ -\d+", detail["body"])  # at least the 12 new KOLs
    assert run_url("kol_transform", run_id) in detail["body"]
    return form


def _approve_in_the_ui(live, browser, form: str, comment: str, shot) -> None:
    """The reviewer, in a browser session of their own (the module's Chromium, another context), from the
    alert's link: a comment, then Approve."""
    context = browser.context.browser.new_context(viewport={"width": 1400, "height": 1100})
    try:
        page = context.new_page()
        _log_in(page, live.url, REVIEWER, live.password_of(REVIEWER))
        page.goto(form)
        page.get_by_text("Audit verdict: PASS with").wait_for()
        page.locator('[id="element_comment"]').fill(comment)
        page.screenshot(path=str(shot), full_page=True)
        page.get_by_role("button", name="Approve").click()
        page.get_by_text("response successful").wait_for()
    finally:
        context.close()


def test_a_review_holds_the_lease_a_viewer_cannot_answer_and_the_reviewer_approves_in_the_ui(
        live, published_lake, warning_suite, browser, tmp_path):
    """kol_transform's audit WARNs under policy review: it waits for a reviewer, holding the WAP lease.
    kol_platform_e2e, triggered meanwhile, waits in its lease task, and kol_lake_maintenance for both (the
    parked review holds no pool slot: the lease keeps maintenance off the audited branch). A viewer cannot
    answer; the reviewer approves in Chromium from the alert's link; then each chain runs in turn, and
    maintenance only when no writer runs."""
    for dag_id in ("kol_platform_e2e", "kol_lake_maintenance"):
        live.api.set_paused(dag_id, False)
    transform, before = _review_waiting(live, seed=301)
    e2e = live.api.trigger("kol_platform_e2e", {"profiles": 200, "bad_fraction": 0.02, "seed": 9})
    maintenance = live.api.trigger("kol_lake_maintenance", {})
    form = _form_and_alert(live, transform, warning_suite)
    viewer = AirflowApi(live.url, live.password_of(VIEWER), user=VIEWER)  # may read the form, not answer it
    refused = viewer.http.patch("/api/v2" + _hitl_path(transform), json={"chosen_options": ["Approve"]})
    assert refused.status_code == 403, refused.text
    live.api.wait_task("kol_platform_e2e", e2e, "acquire_wap_lease", {"running"})  # waiting for the lease
    assert live.api.task_states("kol_transform", transform)["review_warns"] == "awaiting_input"
    assert _gold_main(live) == before  # nothing moved main while the review waited
    shot = tmp_path / "review-form.png"
    _approve_in_the_ui(live, browser, form, "band reviewed: the new rule is a draft", shot)
    print(f"the approval form of {transform}: {shot}")
    runs = {("kol_transform", transform): None, ("kol_platform_e2e", e2e): None,
            ("kol_lake_maintenance", maintenance): None}
    for dag_id, run_id in runs:
        runs[dag_id, run_id] = live.api.wait_run(dag_id, run_id, timeout=900)
        assert runs[dag_id, run_id]["state"] == "success", live.api.task_states(dag_id, run_id)

    decision = _decision(live, transform)  # published, with the reviewer's decision in the run's report
    assert (decision["status"], decision["observed"]) == ("PASS", "Approve")
    assert decision["details"].startswith(f"approved by {REVIEWER} at ")
    assert re.search(r"for \d+ WARN\(s\): band reviewed: the new rule is a draft$", decision["details"])
    report = live.report("kol_transform", transform)
    assert {c["check_id"]: c["status"] for c in report["checks"]}.items() >= {
        "review.decision": "PASS", warning_suite: "WARN"}.items()
    assert uncatalogued(report) == [] and report["gate"]["passed"]
    assert not {r for r in get_catalog(live.settings).load_table("gold.kol_summary").refs() if transform in r}
    _serialized(live, runs, first=("kol_transform", transform), second=("kol_platform_e2e", e2e),
                maintenance=("kol_lake_maintenance", maintenance))


def _serialized(live, runs: dict, *, first: tuple, second: tuple, maintenance: tuple) -> None:
    """The second chain took the lease once the first gave it back (during the first's release task, whose
    own end is recorded after the lock is free), and maintenance never overlapped a writer's task."""
    tasks = {key: live.api.task_instances(*key) for key in runs}
    assert live.api.xcom(*second, "acquire_wap_lease") == {"holder": second[1], "waited": True}
    assert _at(tasks[second]["acquire_wap_lease"]["end_date"]) >= _at(tasks[first]["release_wap_lease"]["start_date"])
    maintain = tasks[maintenance]["maintain_lake"]
    writers = [ti for key in (first, second) for ti in tasks[key].values()
               if ti["pool"] == maintain["pool"] and ti["start_date"] and ti["end_date"]]
    overlapping = [ti["task_id"] for ti in writers if _at(ti["start_date"]) < _at(maintain["end_date"])
                   and _at(maintain["start_date"]) < _at(ti["end_date"])]
    assert overlapping == [], f"maintenance ran beside writers: {overlapping}"
    queued = _at(runs[maintenance]["queued_at"])
    assert any(_at(ti["start_date"]) <= queued < _at(ti["end_date"]) for ti in writers)  # it had to wait


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def test_a_rejected_review_keeps_main_and_the_branch_and_an_unanswered_one_times_out(live, published_lake,
                                                                                   warning_suite):
    run_id, before = _review_waiting(live, seed=302)
    live.api.call("PATCH", _hitl_path(run_id), json={"chosen_options": ["Reject"],
                                                     "params_input": {"comment": "score shift unexplained"}})
    run = live.api.wait_run("kol_transform", run_id)
    states = live.api.task_states("kol_transform", run_id)
    assert run["state"] == "failed" and states["review_warns"] == "failed", states
    assert states["publish_branch"] == "upstream_failed" and states["release_wap_lease"] == "success", states
    assert _gold_main(live) == before  # main untouched
    assert run_branch(run_id) in get_catalog(live.settings).load_table("gold.kol_summary").refs()  # kept
    decision = _decision(live, run_id)
    assert (decision["status"], decision["observed"]) == ("FAIL", "Reject")
    assert decision["details"].startswith("rejected by admin") and "score shift unexplained" in decision["details"]
    assert "review.decision (Reject)" in _wait_for(
        live.inbox, lambda m: "quality gate FAILED" in m["Subject"] and run_id in m["Subject"])["Subject"]

    timed_out, _ = _review_waiting(live, seed=303, conf={"review_timeout_minutes": 1})  # nobody answers
    run = live.api.wait_run("kol_transform", timed_out, timeout=300)
    assert run["state"] == "failed" and live.api.task_states("kol_transform", timed_out)["review_warns"] == "failed"
    decision = _decision(live, timed_out)
    assert (decision["status"], decision["observed"]) == ("FAIL", "timed out")
    assert "no answer within 1 min" in decision["details"]
    mail = _wait_for(live.inbox, lambda m: "quality gate FAILED" in m["Subject"] and timed_out in m["Subject"])
    assert "review.decision (timed out)" in mail["Subject"] and "review timed out" in html_part(mail)
    assert _gold_main(live) == before


def test_a_breached_gate_fails_the_run_names_the_check_and_alerts_once(live, published_lake, browser):
    get_catalog(live.settings).load_table("bronze.kol_comments_raw").delete(EqualTo("kafka_offset", 3))
    live.api.set_paused("kol_quality_nightly", False)
    run_id = live.api.trigger("kol_quality_nightly", {"layers": ["bronze"]})
    run = live.api.wait_run("kol_quality_nightly", run_id)
    assert run["state"] == "failed"
    states = live.api.task_states("kol_quality_nightly", run_id)
    assert states["lake_checks"] == states["table_checks"] == states["readiness_report"] == "success", states
    assert states["quality_gate"] == "failed"  # after the report was written
    assert "lineage.bronze_offsets_contiguous.comments" in live.api.task_log("kol_quality_nightly", run_id,
                                                                              "quality_gate")
    report = live.report("kol_quality_nightly", run_id)
    assert {c["layer"] for c in report["checks"]} == {"bronze"} and not report["gate"]["passed"]  # Params scope it
    failed = {c["check_id"]: c for c in report["checks"] if c["status"] == "FAIL"}
    assert "3..3" in failed["lineage.bronze_offsets_contiguous.comments"]["details"]  # names the missing offset
    # one grouped alert per channel for the run (not one per check): verdict, score, each FAIL, the view's link
    mail = _wait_for(live.inbox, lambda m: "quality gate FAILED" in m["Subject"] and run_id in m["Subject"])
    assert len([m for m in live.inbox if "quality gate" in m["Subject"] and run_id in m["Subject"]]) == 1
    assert mail["To"] == ALERTS_TO and f"score {report['score']}%" in mail["Subject"]
    body = html_part(mail)
    for check_id, check in failed.items():
        assert check_id in body and escape(str(check["threshold"])) in body
    assert escape(run_url("kol_quality_nightly", run_id)) in body
    def gate_post(post):
        return "quality gate FAILED" in post["text"] and run_id in post["text"]

    post = _wait_for(live.slack, gate_post)  # and one Slack message, through the webhook
    assert len([p for p in live.slack if gate_post(p)]) == 1
    assert all(check_id in post["text"] for check_id in failed)
    browser.goto(f"{live.url}/dags/kol_quality_nightly/runs/{quote(run_id, safe='')}")
    browser.get_by_text("Failed").first.wait_for()  # the UI shows the run failed
