"""The check catalogue: every check id the platform can record, what it means and what to do when it fails.

One registry that three readers share: the docs' check reference is generated from it
(``docs/gen_reference.py``), the readiness report and the terminal summary print an entry's
``first_look`` beside each check that did not pass, and the tests assert that every check id a
demo-sized run records matches an entry. An id is matched by its pattern, whose ``{placeholders}``
stand for the parts that vary (a table, a platform, a topic, a rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from lakehouse.core.entities import QUARANTINE_REASONS

# What each placeholder of a pattern may stand for.
PARTS = {
    "table": r"[a-z_]+\.[a-z0-9_]+",
    "entity": r"profiles|videos|comments",
    "bronze": r"kol_profiles_raw|kol_videos_raw|kol_comments_raw",
    "topic": r"kol-profiles-raw|kol-videos-raw|kol-comments-raw",
    "platform": r"tiktok|youtube",
    "kind": r"profiles|final|trending|list",
    "case": r"high_quality|low_quality",
    "rule": r"[A-Za-z0-9_]+\.[^ ]+",
    "action": r"[a-z_]+",
    "task_id": r"[a-z0-9_]+",
    "reason": "|".join(QUARANTINE_REASONS),
}


@dataclass(frozen=True)
class CheckSpec:
    """One family of check ids: ``pattern`` with ``{placeholders}`` from :data:`PARTS`."""

    pattern: str
    layer: str  # the layer its rows are recorded under (a placeholder when it varies)
    recorded_by: str  # which task of which DAG records it
    breach: str  # the status a breach records: FAIL (stops a run) or WARN (reported)
    means: str  # what it checks, in one or two sentences
    first_look: str  # the first thing to look at when it did not pass
    skip: str = ""  # when it is a SKIP instead of a verdict ("" = never)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        out, last = [], 0
        for match in re.finditer(r"\{(\w+)\}", self.pattern):
            out += [re.escape(self.pattern[last:match.start()]), f"(?:{PARTS[match.group(1)]})"]
            last = match.end()
        out.append(re.escape(self.pattern[last:]))
        return re.compile("".join(out))

    def matches(self, check_id: str) -> bool:
        return self.regex.fullmatch(check_id) is not None

    @property
    def anchor(self) -> str:
        """The id of this entry's section on the docs' check reference page."""
        return re.sub(r"[^a-z0-9]+", "-", self.pattern.lower()).strip("-")


AUDIT = "audit_branch (kol_transform, kol_platform_e2e)"
NIGHTLY = "lake_checks (kol_quality_nightly)"
AUDIT_AND_NIGHTLY = f"{AUDIT}; {NIGHTLY}"
NIGHTLY_TABLES = "table_checks (kol_quality_nightly)"
SERVING = "publish_redis (kol_transform, kol_platform_e2e); table_checks (kol_quality_nightly, layer serving)"
REVIEW = "review_warns (kol_transform, kol_platform_e2e)"
REPLAY = "replay_quarantine (kol_quarantine_replay)"
ERASURE = "erase_subjects (kol_erasure, lakehouse erase)"
HEALTH = "health_checks (kol_quality_nightly); `lakehouse doctor`"

CATALOGUE: tuple[CheckSpec, ...] = (
    # ---- suites -------------------------------------------------------------------------------------------
    CheckSpec("suite.{table}", "{layer}", AUDIT_AND_NIGHTLY, "FAIL",
              "A suite file could not be run on its table: the file does not parse, names a table that does not "
              "exist yet, or holds a query the SQL allow-list does not name.",
              "Run `lakehouse suites lint`: it names the file, the expectation and the reason."),
    CheckSpec("suite.{table}.increment.{rule}", "{layer}", AUDIT, "the rule's meta.severity",
              "One expectation of the table's suite, judged on this run's change only (the rows the branch "
              "inserted or updated over `main`), so a `mostly` rule is not diluted by history.",
              "The details give both figures (this run's rows and the whole table) and up to 20 offending rows "
              "by business key; open the table's Data Docs page from the report.",
              "never; a first run or a Gold refit has no change to tell apart and records no increment rows"),
    CheckSpec("suite.{table}.{rule}", "{layer}", AUDIT_AND_NIGHTLY, "the rule's meta.severity",
              "One expectation (`<expectation type>.<column>`) of `expectations/<layer>/<table>.json`, run by "
              "Great Expectations on the whole table (the audit's branch or the nightly's `main`). "
              "`meta.severity: error` FAILs, `warning` WARNs.",
              "The report's offending-rows table (business key, and for Silver the Kafka partition and offset of "
              "the Bronze record) and the table's Data Docs page; `lakehouse kcat -C -t <topic> -p <p> -o <o> -c 1` "
              "shows the raw record."),
    # ---- contracts, schemas, branch diff --------------------------------------------------------------------
    CheckSpec("contract.{topic}.new_fields", "bronze", AUDIT, "WARN",
              "Payloads of this run carry fields `contracts/<topic>.json` does not declare.",
              "If the field is wanted, add it to the contract (and to `etl/parse.normalize` to keep it in Silver).",
              "when the run read nothing of the topic"),
    CheckSpec("contract.{topic}.missing_required", "bronze", AUDIT, "FAIL",
              "A required field was absent or null in more than `LAKEHOUSE_CONTRACT_MAX_SHARE` of the run's "
              "records of the topic (below that share the records are quarantined and the check passes).",
              "The details name the field, its record count and three Kafka coordinates: ask the producer.",
              "when the run read nothing of the topic"),
    CheckSpec("contract.{topic}.retyped", "bronze", AUDIT, "FAIL",
              "A declared field arrived with another JSON type (a count as a string, a username as a number) in "
              "more than `LAKEHOUSE_CONTRACT_MAX_SHARE` of the run's records.",
              "The details name the field, the type seen and three Kafka coordinates.",
              "when the run read nothing of the topic"),
    CheckSpec("contracts.valid", "bronze", NIGHTLY_TABLES, "FAIL",
              "Every file in the contracts directory is a valid contract and there is one per topic. A broken "
              "contract stops every other check of the run (they read the entities it declares).",
              "The details name each file and the rule it breaks; `lakehouse contracts lint` prints the same."),
    CheckSpec("schema.{table}", "{layer}", AUDIT, "FAIL",
              "The branch's Iceberg schema against `main`'s by field id: an added column WARNs, a dropped, "
              "retyped or renamed column FAILs (readers of `main` would break).",
              "The details name the columns; a deliberate change needs its readers changed first."),
    CheckSpec("diff.{table}", "{layer}", AUDIT, "never (information)",
              "What publishing changes on `main`: `+inserted ~updated -deleted`, the columns updated rows changed, "
              "and for Gold the mean and p95 shift of each score.",
              "Read it before publishing a branch by hand."),
    CheckSpec("diff.gold.kol_summary.final_score_moved", "gold", AUDIT, "WARN",
              "Scoring regression guard: the share of updated KOLs whose final score moved by more than "
              "`LAKEHOUSE_SCORE_MOVE_POINTS` must stay under `LAKEHOUSE_SCORE_MOVE_MAX_SHARE`.",
              "Compare the score shift in `diff.gold.kol_summary`; a new scale or a changed input field moves scores.",
              "when the run rescored every KOL with a newly promoted champion"),
    CheckSpec("replay.{reason}", "silver", REPLAY, "never (information)",
              "A quarantine replay of the records quarantined for this reason code: how many of those selected "
              "left the quarantine for Silver (`moved/selected`; a dry run says `would move`). Those still bad "
              "stay, with their reason updated if it changed.",
              "Nothing moved although the cause was fixed: check that the fix is deployed where the job runs "
              "(the contracts directory, the parser's release); the audit's `accounting.*` checks judge the books."),
    CheckSpec("review.decision", "orchestration", REVIEW, "FAIL",
              "The run's WARN policy acted on an audit that WARNed: a reviewer approved (PASS) or rejected the "
              "publish in the Airflow UI, nobody answered within `review_timeout_minutes`, or policy `block` "
              "stopped it. The details name the reviewer, the time and the comment.",
              "Rejected or timed out: `main` is untouched and the branch `audit_<run id>` is kept; read the "
              "WARNs in the run's Data quality view, fix their cause or re-run with a reviewer at hand. Blocked: "
              "re-run under `review` (or `publish`) if the WARNs are expected."),
    # ---- counts and accounting -------------------------------------------------------------------------------
    CheckSpec("bronze_vs_kafka_offsets.{bronze}", "bronze", NIGHTLY_TABLES, "FAIL",
              "Bronze holds exactly the offsets its commits record as consumed (and ingest reconciles the same "
              "after every batch).",
              "The details name the partitions and offset spans; a deleted Bronze row or a foreign writer is the "
              "usual cause."),
    CheckSpec("bronze_vs_produced.{entity}", "bronze", "check_bronze, count_layers (kol_platform_e2e)", "FAIL",
              "Every message the readiness run produced is in Bronze.",
              "The ingest_topic task logs of the run: a stalled partition or a broker restart."),
    CheckSpec("bronze_exists.{entity}", "bronze", "count_layers (kol_platform_e2e)", "FAIL",
              "The entity's Bronze table exists.", "Did ingest_topic run for the topic?"),
    CheckSpec("silver_exists.{entity}", "silver", AUDIT_AND_NIGHTLY, "FAIL",
              "The entity's Silver table exists (after the lake's first publish it always should).",
              "A dropped table: restore it from a snapshot or run kol_transform with `full_rebuild`."),
    CheckSpec("silver_vs_bronze_keys.{entity}", "silver", AUDIT_AND_NIGHTLY, "FAIL",
              "Silver holds at least 95 % of the distinct business keys in Bronze's payloads (parsed from the "
              "payload, not the Kafka key).",
              "Quarantine reasons of the run (`silver.quarantine`): a producer change can quarantine a whole topic."),
    CheckSpec("accounting.{entity}", "silver", AUDIT_AND_NIGHTLY, "FAIL",
              "Bronze rows = Silver rows + duplicates + quarantined, exactly: every record that entered Bronze is "
              "accounted for.",
              "`lakehouse.totals` of Silver's newest snapshot against Bronze's `total-records`."),
    CheckSpec("gold_vs_silver_kols", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "Gold has one row per Silver KOL.", "Did silver_to_gold run on the same branch as bronze_to_silver?"),
    # ---- lineage ---------------------------------------------------------------------------------------------
    CheckSpec("lineage.bronze_offsets_contiguous.{entity}", "bronze", AUDIT_AND_NIGHTLY, "FAIL",
              "Bronze's offsets are gap-free per partition: no record was lost between broker and lake.",
              "The details name the missing offsets (`[partition] first..last`)."),
    CheckSpec("lineage.silver_covers_bronze.{entity}", "silver", AUDIT_AND_NIGHTLY, "FAIL",
              "Silver processed every row of the Bronze snapshot its lineage names.",
              "Silver's `lineage.upstream` snapshot against Bronze's rows at that snapshot."),
    CheckSpec("lineage.silver_up_to_date.{entity}", "silver", AUDIT_AND_NIGHTLY, "WARN",
              "Bronze commits that no transform has read yet (a WARN: the next kol_transform reads them).",
              "Is kol_transform paused, or did its last run fail?"),
    CheckSpec("lineage.gold_from_current_silver.{entity}", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "Gold was built from the current Silver snapshot.", "A Silver publish without its Gold: re-run kol_transform."),
    CheckSpec("lineage.gold_row_traces_to_bronze", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "Five sampled Gold KOLs trace to their Silver row and from it to the Bronze Kafka record "
              "(topic[partition]@offset) at Silver's upstream snapshot.",
              "The details name the broken link."),
    # ---- scoring ---------------------------------------------------------------------------------------------
    CheckSpec("gold.top_trending_distinct.{platform}", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "PROD-002.1 on Gold: at least 80 % distinct trending scores among the top 50 by trending.",
              "`gold.score_reference` (a refit fixes a collapsed scale) and the trending inputs.",
              "with fewer than two ranked KOLs"),
    CheckSpec("gold.top_trending_range.{platform}", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "PROD-002.1 on Gold: the top 50 trending scores span at least 10 points.",
              "As `gold.top_trending_distinct`.", "with fewer than two ranked KOLs"),
    CheckSpec("gold.trending_distinct.{platform}", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "At least 80 % distinct trending scores among active KOLs (inactive KOLs share the floor by design).",
              "The score reference and the velocity inputs.", "when no KOL of the platform is active"),
    CheckSpec("gold.followers_placeholder.{platform}", "gold", AUDIT_AND_NIGHTLY, "FAIL",
              "Among accounts with at least 10,000 followers, the most common follower count is held by at most "
              "max(3, 0.1 %) of them: a placeholder value is caught.",
              "The details name the value; find its producer in Silver."),
    CheckSpec("gold.trino_matches_spark", "gold", NIGHTLY, "FAIL",
              "Trino and Spark agree on Gold's totals (full stack only).",
              "Both engines read the same catalog: a stale Trino metadata cache or a different catalog.",
              "without `LAKEHOUSE_TRINO_URL`"),
    # ---- serving ---------------------------------------------------------------------------------------------
    CheckSpec("redis_freshness", "serving", SERVING, "FAIL",
              "The published Redis version was built from Gold `main`'s current data snapshot.",
              "A transform published Gold but not Redis: re-run publish_redis or `lakehouse redis restore`."),
    CheckSpec("redis_vs_gold.{platform}.{kind}", "serving", SERVING, "FAIL",
              "Redis entries = Gold rows per platform, by kind: `profiles` (the hashes) and `final` (the sorted set): "
              "every row; `trending`: the active rows; `list`: the top `LAKEHOUSE_SERVING_LIST_SIZE`.",
              "`lakehouse redis restore` rebuilds the hot path from Gold."),
    CheckSpec("redis.reachable", "serving", SERVING, "FAIL", "Redis answers.", "`lakehouse status`, the Redis log."),
    CheckSpec("redis.published", "serving", SERVING, "FAIL",
              "A version has been published to Redis.", "Run kol_transform or `lakehouse redis restore`.",
              "before anything was ever published"),
    CheckSpec("redis.published.{platform}", "serving", SERVING, "FAIL",
              "The published version holds KOLs of the platform.", "Gold's rows of the platform."),
    CheckSpec("redis.trending_in_range.{platform}", "serving", SERVING, "FAIL",
              "Every listed trending score is within 0-100.", "The scoring code and `gold.score_reference`."),
    CheckSpec("redis.top_trending_distinct.{platform}", "serving", SERVING, "FAIL",
              "PROD-002.1 on the published `kol:trending:{platform}`: >= 80 % distinct among the top 50.",
              "As `gold.top_trending_distinct`.", "with fewer than two ranked KOLs"),
    CheckSpec("redis.top_trending_range.{platform}", "serving", SERVING, "FAIL",
              "PROD-002.1 on the published trending set: the top 50 span >= 10 points.",
              "As `gold.top_trending_range`.", "with fewer than two ranked KOLs"),
    CheckSpec("redis.followers_distinct.{platform}", "serving", SERVING, "FAIL",
              "PROD-005: >= 80 % distinct follower counts in the published list.",
              "`gold.followers_placeholder` names the repeated value."),
    CheckSpec("redis.final_score_formula.{platform}", "serving", SERVING, "FAIL",
              "Every listed final score equals `0.40 trending + 0.35 success + 0.25 trust` within 1e-6.",
              "`lakehouse.core.scoring` against the Gold writer; a half-published version."),
    # ---- freshness, volume, metrics ------------------------------------------------------------------------
    CheckSpec("freshness.{table}", "{layer}", NIGHTLY_TABLES, "FAIL",
              "The table's newest commit is younger than `LAKEHOUSE_FRESHNESS_MAX_AGE_HOURS`.",
              "Are kol_ingest and kol_transform unpaused and green?"),
    CheckSpec("volume.{table}", "{layer}", NIGHTLY_TABLES, "WARN",
              "This run's row growth against the last `LAKEHOUSE_VOLUME_WINDOW` comparable runs: outside "
              "median ± `LAKEHOUSE_VOLUME_MAD_K` × MAD WARNs (a silent 90 % drop is caught although every row is valid).",
              "The band in the threshold; a producer outage or a backfill.",
              "until three comparable runs exist"),
    CheckSpec("metrics.{table}", "{layer}", AUDIT_AND_NIGHTLY, "WARN",
              "Every column's null rate, distinct ratio and min/max/mean/p50/p95 against the same metric of the "
              "comparable runs (median ± `LAKEHOUSE_METRICS_MAD_K` × MAD).",
              "The details name the column, metric, value and band; `audit.column_metrics` holds the history.",
              "until three comparable runs exist"),
    CheckSpec("metrics.{table}.increment", "{layer}", AUDIT, "WARN",
              "As `metrics.<table>`, on this run's change.", "As `metrics.<table>`.",
              "until three comparable runs exist"),
    # ---- model -------------------------------------------------------------------------------------------------
    CheckSpec("ml.trust.auc", "ml", "train_trust_model (kol_model_training, kol_platform_e2e)", "FAIL",
              "The trust model's holdout AUC is at least `min_auc`.", "Labels in `ml.kol_labels`, `reg_param`."),
    CheckSpec("ml.trust.behavioural.{case}", "ml", "train_trust_model (kol_model_training, kol_platform_e2e)",
              "FAIL", "The test plan's behavioural cases: the high-quality profile scores 85-100, the "
              "low-quality one 20-50.", "The features of the case in the details."),
    CheckSpec("ml.trust.vs_champion", "ml", "train_trust_model (kol_model_training, kol_platform_e2e)", "FAIL",
              "The challenger's AUC trails the champion's, on the same holdout, by at most `champion_margin`.",
              "The registry row of both versions (`ml.model_registry`).", "when there is no champion yet"),
    # ---- ingest, maintenance, orchestration ------------------------------------------------------------------
    CheckSpec("ingest.rebaseline.{bronze}", "bronze", "ingest_topic (kol_ingest, Param rebaseline)", "WARN",
              "Ingest accepted a new broker log (topic or cluster id changed) and started a new epoch.",
              "Expected after a broker reset run with `rebaseline`; otherwise find who reset the broker."),
    CheckSpec("maintenance.{action}.{table}", "{layer}", "maintain_lake (kol_lake_maintenance)", "FAIL",
              "One Iceberg maintenance action on one table (`rewrite_data_files`, `rewrite_position_delete_files`, "
              "`rewrite_manifests`, `expire_snapshots`, `remove_orphan_files`), with snapshots, files and bytes "
              "before -> after.",
              "The details hold the procedure's error; the next action still ran and the table is valid."),
    CheckSpec("maintenance.prune.{action}", "audit", "maintain_lake (kol_lake_maintenance)", "FAIL",
              "Old check rows, column metrics, report files and lineage events pruned after their retention.",
              "The details name what failed to be removed."),
    # ---- right to erasure (recorded under the run, source erasure:<request id>) ------------------------------
    CheckSpec("erasure.rows.{table}", "{layer}", ERASURE, "FAIL",
              "The subjects' rows on the table's `main`: none left (Bronze: no payload of theirs; "
              "`audit.check_results`: no text naming them).",
              "Was the lake settled? Re-run the request: it erases by its first run's plan, then proves again."),
    CheckSpec("erasure.history.{table}", "{layer}", ERASURE, "FAIL",
              "Every snapshot and ref the table still retains, read as of each (time travel): none returns the "
              "subjects' rows.",
              "A branch or tag created during the erasure; re-run the request (it drops refs and expires again)."),
    CheckSpec("erasure.files.parquet", "audit", ERASURE, "FAIL",
              "The values of every string and binary column of every Parquet file under the state dir (data "
              "files, model artifacts, orphans): none names a subject.",
              "The files listed in the details: which table's directory, and whether a writer ran meanwhile."),
    CheckSpec("erasure.files.state_dir", "audit", ERASURE, "FAIL",
              "The bytes of every other file under the state dir (reports, GX results and Data Docs, lineage "
              "events, logs, table metadata): none names a subject.",
              "The files in the details; a binary file (a manifest) is not redacted: re-run after maintenance."),
    CheckSpec("erasure.files.not_searched", "audit", ERASURE, "never (information)",
              "What the proof does not search, said every time: Airflow's metadata database (XCom, run history).",
              "Purge old XCom with `airflow db clean`.", "always"),
    CheckSpec("erasure.redis", "serving", ERASURE, "FAIL",
              "Every Redis key (SCAN): no key name and no value (string, hash, list, set, sorted set) names a "
              "subject.", "Did a publish run from a Gold snapshot before the erasure? Re-run the request."),
    CheckSpec("erasure.kafka.{topic}", "bronze", ERASURE, "WARN",
              "When the broker drops the subjects' records: the topic's `retention.ms` (WARN when it keeps them "
              "forever). Records delivered again are refused by the ledger either way.",
              "Set `retention.ms`, or produce tombstones on a compacted topic.",
              "when the broker does not report the topic's retention.ms (tansu)"),
    CheckSpec("erasure.ledger", "audit", ERASURE, "FAIL",
              "Every subject of the request is in `audit.erasure_ledger` (salted hash), so ingestion and Silver "
              "refuse their records from now on.", "`LAKEHOUSE_ERASURE_SALT` (a changed salt forgets every subject)."),
    CheckSpec("erasure.purge.{table}", "{layer}", ERASURE, "FAIL",
              "What the erasure did to one table: rows erased, files and bytes rewritten, the bookkeeping commit, "
              "refs dropped, snapshots expired, orphan files removed.", "The job's log: the step that raised."),
    CheckSpec("erasure.republish", "serving", ERASURE, "FAIL",
              "The hot path republished from the erased Gold, every older version dropped.",
              "Redis reachable? `lakehouse redis restore` republishes by hand."),
    CheckSpec("erasure.redact.state_dir", "audit", ERASURE, "FAIL",
              "Text files under the state dir naming a subject, rewritten with `[erased]` in its place.",
              "File permissions under the state dir."),
    CheckSpec("task.{task_id}", "orchestration", "readiness_report, quality_gate (every DAG with a gate)", "FAIL",
              "A task the gate expected failed or returned nothing.", "That task's log in the Airflow UI."),
    CheckSpec("gate.nothing_judged", "orchestration", "quality_gate", "FAIL",
              "The run judged nothing (no check, or only SKIPs): never a 100 % for a run that looked at nothing.",
              "The run's Params (`layers`, `tables`) and whether its check tasks ran."),
    # ---- platform health ---------------------------------------------------------------------------------------
    CheckSpec("health.broker", "health", HEALTH, "FAIL", "The Kafka broker answers.", "`lakehouse status`, the broker log."),
    CheckSpec("health.topic.{topic}", "health", HEALTH, "FAIL",
              "The topic exists with `LAKEHOUSE_KAFKA_PARTITIONS` partitions.", "`lakehouse kcat -L`."),
    CheckSpec("health.consumer_lag.{topic}", "health", HEALTH, "WARN",
              "Kafka end offsets − Bronze's next offsets stays under `LAKEHOUSE_HEALTH_MAX_LAG` records.",
              "Is kol_ingest unpaused and keeping up?"),
    CheckSpec("health.catalog", "health", HEALTH, "FAIL", "The Iceberg catalog database answers.",
              "`LAKEHOUSE_CATALOG_URI` / the `iceberg_catalog` connection."),
    CheckSpec("health.warehouse_writable", "health", HEALTH, "FAIL", "A file can be written to the warehouse.",
              "Permissions and mounts of `LAKEHOUSE_WAREHOUSE`."),
    CheckSpec("health.warehouse_free_gb", "health", HEALTH, "FAIL",
              "The warehouse has `LAKEHOUSE_HEALTH_MIN_FREE_GB` free.", "Run kol_lake_maintenance; free disk."),
    CheckSpec("health.redis_memory_headroom", "health", HEALTH, "WARN",
              "Redis has `LAKEHOUSE_HEALTH_MIN_REDIS_HEADROOM` of its memory free.", "`maxmemory` and old versions."),
    CheckSpec("health.spark_workers", "health", HEALTH, "FAIL", "The Spark standalone master has an alive worker.",
              "The master's UI (`LAKEHOUSE_SPARK_MASTER_UI_URL`).", "with local Spark"),
    CheckSpec("health.spark_driver_archive", "health", HEALTH, "WARN",
              "The JVM maps the drivers' class-data archive (each Spark driver starts seconds faster).",
              "Run `make setup`: it re-records an archive the JVM refuses.", "when no JDK is found"),
    CheckSpec("health.airflow_db", "health", HEALTH, "FAIL", "Airflow's metadata DB answers.",
              "`LAKEHOUSE_AIRFLOW_DB_URI`.", "outside Airflow"),
)


def spec_of(check_id: str) -> CheckSpec | None:
    """The catalogue entry ``check_id`` belongs to (the most specific one: entries are tried in order), or None."""
    return next((spec for spec in CATALOGUE if spec.matches(check_id)), None)


def first_look(check_id: str) -> str:
    """What to look at first when ``check_id`` did not pass ("" for an id the catalogue does not know)."""
    spec = spec_of(check_id)
    return spec.first_look if spec else ""
