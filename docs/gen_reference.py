"""The reference pages, generated from the code at every `make docs` so they cannot drift from it.

mkdocs-gen-files runs this file (``mkdocs.yml``); the page functions are plain functions so the docs
tests can call them too: settings from ``lakehouse.config.Settings``, commands from the ``lakehouse``
argument parser, the check catalogue from ``lakehouse.core.catalogue``, DAGs from their ``doc_md`` and
Params (parsed by Airflow's DagBag), benchmarks from ``docs/benchmarks/*.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "docs" / "benchmarks"
API_MODULES = ("lakehouse.core.checks", "lakehouse.core.catalogue", "lakehouse.core.errors", "lakehouse.core.names",
               "lakehouse.core.contracts", "lakehouse.core.entities", "lakehouse.core.params",
               "lakehouse.core.offsets", "lakehouse.core.scoring", "lakehouse.config",
               "lakehouse.iceberg.snapshots", "lakehouse.iceberg.retention", "lakehouse.etl.wap",
               "lakehouse.quality.store", "lakehouse.serving.redis_publish", "lakehouse.orchestration.lease")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table's lines: the header, its rule, one line per row (cells already formatted)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


SETTINGS_NOTES = """## Connections and secrets

Spark jobs are submitted through the Airflow connection `spark_default`
(embedded: `{"conn_type": "spark", "host": "local[2]"}` from the environment).

**Secrets.** The password fields (`LAKEHOUSE_CATALOG_PASSWORD`,
`LAKEHOUSE_AIRFLOW_DB_PASSWORD`, `LAKEHOUSE_REDIS_PASSWORD`,
`LAKEHOUSE_KAFKA_PASSWORD`) are left out of the settings' `repr`, of
`lakehouse airflow-env`, `lakehouse setup`, `lakehouse status`, logs and reports.
A URL setting that carries a password (`postgresql://u:pw@…`, `redis://:pw@…`)
is refused at start with a message naming the variable the password belongs in:
a URL gets printed, so it must never hold one. Drivers get the credentials
apart: pyiceberg's SQLAlchemy engine a URL built in memory, Spark's JdbcCatalog
`jdbc.user`/`jdbc.password` set inside the driver from its environment (never on
spark-submit's command line, which `ps` shows), Redis `username`/`password`
arguments. In Airflow, the connection `iceberg_catalog` (type postgres: host,
port, schema = database, login, password; extra `driver`, default
`postgresql+psycopg2`) overrides the catalog settings before every task (an
`on_execute_callback` of every DAG), and reaches the spark-submit it starts
through that process's environment.

**Kafka connection extras** (`kafka_default`) pass through an allow-list:
`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`, `client.id`,
`client.dns.lookup` and the timeouts (`socket.timeout.ms`,
`request.timeout.ms`, `session.timeout.ms`, …). Anything else
(`plugin.library.paths`, `auto.offset.reset`, `enable.idempotence`,
`isolation.level`, `group.id` …) fails the task with a message naming the key:
it could load code or undo the exactly-once settings.
"""


def settings_page() -> str:
    from lakehouse.config import Settings

    rows = []
    for f in dataclasses.fields(Settings):
        secret = f.metadata.get("secret", False)
        default = "" if secret else f.default
        if "under_project" in f.metadata:
            default = f"<project>/{f.metadata['under_project']}".rstrip("/")
        elif isinstance(default, Path):
            default = str(default).replace(str(ROOT), "<project>").replace(str(Path.home()), "~")
        type_name = f.type if isinstance(f.type, str) else f.type.__name__
        rows.append([f"`{f.metadata['env']}`", type_name, "**secret**" if secret else f"`{_cell(default)}`",
                     _cell(f.metadata["doc"])])
    return "\n".join([
        "# Settings", "",
        "Every setting is an environment variable, read into one `Settings` object (`lakehouse.config`). "
        "Inside Airflow, the `kafka_default` and `iceberg_catalog` connections override the Kafka and catalog "
        "endpoints. Secrets never appear in `repr()`, logs, `lakehouse airflow-env` or reports; a URL that "
        "carries a password is refused, naming the variable the password belongs in.", "",
        "This page is generated from the code.", "",
        *_table(("variable", "type", "default", "what it does"), rows), "", SETTINGS_NOTES, ""])


def _commands(parser: argparse.ArgumentParser, prefix: str = "lakehouse"):
    """``(command line, help, options)`` for every leaf command of ``parser``."""
    for action in parser._actions:  # argparse keeps its sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                nested = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                if nested:
                    yield from _commands(sub, f"{prefix} {name}")
                else:
                    yield f"{prefix} {name}", helps.get(name) or "", [a for a in sub._actions if a.dest != "help"]


def command_lines() -> list[str]:
    """Every leaf command, e.g. ``lakehouse suites lint`` (the docs tests check commands shown against it)."""
    from lakehouse.cli import build_parser

    return [line for line, _, _ in _commands(build_parser())]


def _option_row(opt: argparse.Action) -> list[str]:
    name = ", ".join(opt.option_strings) or opt.dest
    default = "" if opt.default in (None, "", False, argparse.SUPPRESS) else f"`{opt.default}`"
    return [f"`{name}`", default, _cell(opt.help or "")]


def cli_page() -> str:
    from lakehouse.cli import build_parser

    out = ["# Command line", "",
           "`lakehouse` is installed into `.venv/bin` by `make setup`. This page is generated from its argument "
           "parser.", ""]
    for line, help_text, options in _commands(build_parser()):
        out += [f"## `{line}`", "", " ".join((help_text or "").split()), ""]
        if line == "lakehouse kcat":
            out += ["Every argument is passed to Debian's kcat, with `-b <the configured broker>` added.", ""]
        if options:
            out += [*_table(("option", "default", "meaning"), (_option_row(opt) for opt in options)), ""]
    return "\n".join(out)


def checks_page() -> str:
    from lakehouse.core.catalogue import CATALOGUE, PARTS

    out = ["# Check catalogue", "",
           "Every check id the platform can record, generated from `lakehouse.core.catalogue` — the same "
           "registry the readiness report reads its *first look* hints from. Each run records one row per check "
           "in `audit.check_results`: status PASS, WARN, FAIL or SKIP, observed value, threshold and details. "
           "A FAIL stops the run at its gate (`main` untouched when it happens in a WAP audit); a WARN is "
           "reported and counts against the readiness score; a SKIP says why it could not judge and is not "
           "counted. See [Checks, readiness score and gate](../concepts/quality.md).", "",
           "In a pattern, `{placeholder}` stands for: " + "; ".join(
               f"`{{{name}}}` {regex.replace('|', ' or ')}" for name, regex in PARTS.items()
               if "[" not in regex) + "; `{table}` a table such as `silver.kol_profiles`; `{rule}` an "
           "expectation type and its column, e.g. `expect_column_values_to_not_be_null.username`.", "",
           *_table(("check id", "layer", "on breach"),
                   ([f"[`{s.pattern}`](#{s.anchor})", s.layer, s.breach] for s in CATALOGUE))]
    for s in CATALOGUE:
        out += ["", f"## `{s.pattern}` {{#{s.anchor}}}", "", s.means, "",
                f"- **Recorded by:** {s.recorded_by}", f"- **On breach:** {s.breach}",
                f"- **SKIP:** {s.skip or 'never'}", f"- **When it does not pass, look at:** {s.first_look}"]
    return "\n".join(out) + "\n"


def _dag_bag():
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    if "AIRFLOW_HOME" not in os.environ:  # a throwaway home: parsing needs no metadata DB
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="kol-docs-airflow-")
        os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag


def _schedule(dag) -> str:
    """A cron string, "UI only", or the assets that trigger the DAG."""
    if dag.schedule is None:
        return "UI / `make demo` only"
    if isinstance(dag.schedule, str):
        return f"`{dag.schedule}` (and the UI)"
    names = [getattr(a, "name", None) or str(a) for a in getattr(dag.schedule, "objects", ())]
    return "an update of any of " + ", ".join(f"`{n}`" for n in names) + " (and the UI)"


def _param_row(name: str, param: Any) -> list[str]:
    schema = {k: v for k, v in param.schema.items() if k != "description"}
    return [f"`{name}`", f"`{json.dumps(param.value)}`", f"`{_cell(json.dumps(schema))}`",
            _cell(param.description or "")]


def dags_page() -> str:
    bag = _dag_bag()
    out = ["# DAGs", "", "Generated from each DAG's `doc_md`, schedule and Params.", ""]
    for dag_id in sorted(bag.dag_ids):
        dag = bag.dags[dag_id]
        doc = (dag.doc_md or "").strip().replace("\n### ", "\n#### ").removeprefix("### ")
        out += [f"## `{dag_id}`", "", f"**Schedule:** {_schedule(dag)} · **tasks:** "
                + ", ".join(f"`{t}`" for t in dag.task_ids), "", "### " + doc, ""]
        if dag.params:
            rows = (_param_row(name, dag.params.get_param(name)) for name in dag.params)
            out += ["**Params**", "", *_table(("param", "default", "schema", "description"), rows), ""]
    return "\n".join(out)


def api_page() -> str:
    out = ["# Library API", "",
           "The modules whose rules are the product, rendered from their docstrings and signatures "
           "(mkdocstrings). The layers they belong to are on the [architecture](../concepts/architecture.md) "
           "page.", ""]
    for module in API_MODULES:
        out += [f"::: {module}", ""]
    return "\n".join(out)


# What each benchmark's headline is: (file, command, what it measures, target, figure from its JSON).
def _bench_rows():
    def ratio(key, target_key="target_ratio"):
        return lambda d: f"{d[key]} × (target ≤ {d.get(target_key, '?')}: {'met' if d[key] <= d[target_key] else 'missed'})"

    return (
        ("ingest", "make bench ingest", "100,000 profile messages into Bronze vs a raw consumer on the same topic",
         "ingest ≤ 1.25 × raw", ratio("ratio_ingest_over_raw")),
        ("etl", "make bench etl", "Bronze → Silver → Gold at 1,000,000 profiles: 1 % new KOLs vs a full rebuild",
         "≤ 0.15 × full", ratio("ratio_incremental_over_full")),
        ("transform", "make bench transform", "1,000 new profiles through kol_transform's tasks on a 10k and a 1M "
         "lake", "1M ≤ 2 × 10k", lambda d: f"10k {d['lakes']['10000']['spark_tasks_s']} s, 1M "
         f"{d['lakes']['1000000']['spark_tasks_s']} s: {d['ratio_1m_over_10k']} ×"),
        ("quality", "make bench quality", "the Silver suite (GX on Spark) vs a hand-written aggregation, 992k rows; "
         "and with column metrics", "GX ≤ 2 × hand; metrics ≤ 1.15 × suite",
         lambda d: f"GX {d['ratio_gx_over_hand']} ×; metrics {d['column_metrics']['ratio_with_over_without']} × (floor "
         f"{d['column_metrics']['floor']['ratio_reading_the_other_columns']} ×)"),
        ("serving", "make bench serving", "Redis publish of 100,000 and 1,000,000 Gold profiles", "100k < 2 s",
         lambda d: f"100k {d['publish_100k_s']} s, 1M {d['publish_1000k_s']} s"),
        ("maintenance", "make bench maintenance", "one Bronze commit at 5,000 vs 100 snapshots, after maintenance",
         "≤ 1.2 ×", ratio("ratio_commit_after_maintenance_largest_over_smallest")),
        ("e2e", "make bench e2e", "kol_platform_e2e end to end at 100k and 1M profiles", "100k < 5 min, 1M < 20 min",
         lambda d: ", ".join(f"{s['profiles']:,}: {s['wall_seconds']} s" for s in d["sizes"])),
        ("scores", "make bench scores", "PROD-002.1 and PROD-005 on the published keys at 1M profiles",
         "both pass", lambda d: "pass" if d["meets_target"] else "FAIL"),
        ("ml", "make bench ml", "trust model on ~100k labeled KOLs", "AUC ≥ 0.85",
         lambda d: f"{d['train_evaluate_s']} s, AUC {round(d['auc'], 3)}"),
        ("erasure", "make bench erasure", "erasing 10 subjects (kol_erasure's job: rows, history, Redis, files, "
         "proof) on a 10k and a 1M lake", "1M ≤ 5 min; rewrites only files holding them",
         lambda d: ", ".join(f"{int(n):,}: {r['seconds']} s, {r['files_rewritten']} files "
                             f"({r['share_of_bytes_rewritten']:.1%} of the bytes)" for n, r in d["lakes"].items())),
        ("mutation", "make mutation", "mutants of the rule modules killed by their tests (mutmut)",
         "≥ 80 % per module", lambda d: ", ".join(
             f"{m.removeprefix('lakehouse.')} {s['score']:.0%} ({s['raw_score']:.0%} of all mutants)"
             for m, s in d["modules"].items())),
    )


def benchmarks_page(directory: Path = BENCH_DIR) -> str:
    out = ["# Benchmarks", "",
           "Speed targets are ratios against a baseline measured in the same run, never timed assertions in "
           "tests. Each row is rendered from `docs/benchmarks/<name>.json`, the JSON its command wrote to "
           "`bench/results/<name>.json` in the run shown (copy it there to update this page). A row whose JSON "
           "carries `recorded_from` was transcribed from the run named there, before benchmark JSON was kept "
           "in the repository.", ""]
    rows = []
    for name, command, measures, target, figure in _bench_rows():
        path = directory / f"{name}.json"
        if not path.is_file():
            rows.append([f"`{command}`", measures, target, "not run yet", "", ""])
            continue
        data = json.loads(path.read_text())
        machine = data.get("machine", {})
        note = f" ({data['recorded_from']})" if data.get("recorded_from") else ""
        rows.append([f"`{command}`", measures, target, _cell(figure(data)) + _cell(note), data["at"][:10],
                     f"{machine.get('cpus', '?')} cores, Python {machine.get('python', '?')}"])
    return "\n".join([*out, *_table(("command", "measures", "target", "latest figure", "date", "machine"), rows)]) + "\n"


PAGES = {"reference/settings.md": settings_page, "reference/cli.md": cli_page, "reference/checks.md": checks_page,
         "reference/dags.md": dags_page, "reference/api.md": api_page, "benchmarks.md": benchmarks_page}


def generate() -> None:
    import mkdocs_gen_files

    for path, page in PAGES.items():
        with mkdocs_gen_files.open(path, "w") as out:
            out.write(page())


if __name__ in ("__main__", "<run_path>"):  # mkdocs-gen-files runs the script with runpy
    generate()
