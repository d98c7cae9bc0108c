"""`lakehouse` command: set up, run the embedded services, run the demo, show reports."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from lakehouse.config import Settings, get_settings
from lakehouse.core.project import ProjectNotFoundError


def cmd_setup(args: argparse.Namespace) -> int:
    """Provision jars, the Iceberg catalog and the Airflow metadata DB (safe to re-run)."""
    from lakehouse.iceberg.catalog import init_catalog
    from lakehouse.orchestration.airflow_env import airflow_env, ensure_pools
    from lakehouse.spark.class_archive import record_archive
    from lakehouse.spark.jars import provision

    settings = get_settings()
    settings.ensure_dirs()
    provision(settings.jar_cache_dir)
    for jar in (settings.sqlite_jdbc_jar, settings.postgres_jdbc_jar):
        if not jar.is_file():
            print(f"setup: JDBC driver {jar} missing (Debian libxerial-sqlite-jdbc-java / libpostgresql-jdbc-java)")
            return 1
    record_archive(settings)
    init_catalog(settings)
    print(f"catalog: {settings.catalog_sqlalchemy_uri} (warehouse {settings.warehouse_uri})")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=airflow_env(settings),
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:])
        print("setup: `airflow db migrate` failed")
        return 1
    ensure_pools(airflow_env(settings))
    print(f"airflow: metadata DB and pool ready in {settings.airflow_home} ({time.monotonic() - started:.1f}s)")
    return 0


def cmd_setup_catalog(args: argparse.Namespace) -> int:
    """Create the Iceberg catalog tables and namespaces only (full stack: run once by airflow-init)."""
    from lakehouse.iceberg.catalog import init_catalog

    settings = get_settings()
    init_catalog(settings)
    print(f"catalog: ready at {settings.catalog_jdbc_uri} (warehouse {settings.warehouse_uri})")
    return 0


def cmd_airflow_env(args: argparse.Namespace) -> int:
    """Print `export` lines that point a shell's Airflow at this project (eval "$(lakehouse airflow-env)").

    No line holds a secret: passwords stay where they already are (the environment), and a metadata DB URL
    with a password is replaced by Airflow's ``_CMD`` form, which asks `lakehouse airflow-db-url` for it.
    """
    import os
    import shlex

    from lakehouse.orchestration.airflow_env import airflow_env, venv_bin

    settings = get_settings()
    secrets = settings.secret_values()
    for key, value in airflow_env(settings, base={"PATH": os.environ.get("PATH", "")}).items():
        if key == "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" and settings.airflow_db_password:
            key, value = f"{key}_CMD", f"{shlex.quote(venv_bin())}/lakehouse airflow-db-url"
        if not any(secret in value for secret in secrets):
            print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_airflow_db_url(args: argparse.Namespace) -> int:
    """Airflow's metadata DB URL with its password, for ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD`` only."""
    print(get_settings().airflow_db_connect_uri())
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from lakehouse.services.manager import ServiceManager

    ServiceManager(get_settings()).up()
    return cmd_status(args)


def cmd_down(args: argparse.Namespace) -> int:
    from lakehouse.services.manager import ServiceManager

    ServiceManager(get_settings()).down()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from lakehouse.services.manager import ServiceManager

    statuses = ServiceManager(get_settings()).status()
    for s in statuses:
        print(f"{s.name:<8} {s.address:<22} {'running' if s.running else 'stopped':<8} "
              f"{'pid ' + str(s.pid) if s.pid else '':<10} {s.detail}")
    return 0 if all(s.running for s in statuses) or not getattr(args, "strict", False) else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Probe the platform (broker, topics, consumer lag, catalog, warehouse, Redis, Spark, Airflow DB);
    exit 1 on any FAIL."""
    from lakehouse.core.checks import Status
    from lakehouse.quality.health import health_checks

    results = health_checks(get_settings())
    for result in results:
        print(result.line())
    failed = [r for r in results if r.status == Status.FAIL]
    print(f"doctor: {len(results)} checks, {len(failed)} FAIL, "
          f"{sum(r.status == Status.WARN for r in results)} WARN")
    return 1 if failed else 0


def cmd_publish_branch(args: argparse.Namespace) -> int:
    """Fast-forward main of every table to an audited branch and drop it (what the publish_branch task does)."""
    import json

    from lakehouse.core.errors import DataBreach
    from lakehouse.jobs.transform import publish_branch

    try:
        print(json.dumps(publish_branch(args.branch)))
    except DataBreach as exc:
        print(f"publish-branch: {exc}")
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Start services, run kol_platform_e2e with `airflow dags test`, print the report, stop services."""
    from lakehouse.iceberg.catalog import reset_lake
    from lakehouse.services.manager import ServiceManager

    settings = get_settings()
    if not args.keep_data:
        reset_lake(settings)  # the embedded broker is in-memory: start the lake fresh as well
    manager = ServiceManager(settings)
    started_here = not any(s.owned for s in manager.status())
    manager.up()
    conf = {"profiles": args.profiles, "bad_fraction": args.bad_fraction, "seed": args.seed}
    try:
        return dags_test(settings, "kol_platform_e2e", conf, "demo")
    finally:
        if started_here and not args.keep_services:
            manager.down()


def dags_test(settings: Settings, dag_id: str, conf: dict, command: str) -> int:
    """Run ``dag_id`` with ``conf`` through `airflow dags test` (its log under the state dir), then print
    its readiness report; the exit code is the run's."""
    from lakehouse.orchestration.airflow_env import airflow_env
    from lakehouse.quality.report import render_terminal

    started = time.monotonic()
    cmd = [sys.executable, "-m", "airflow", "dags", "test", dag_id, "--conf", json.dumps(conf)]
    log_path = settings.log_dir / f"{command}-airflow.log"
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"{command}: running {dag_id} {conf} (Airflow log: {log_path})", flush=True)
    with open(log_path, "w") as log:
        code = subprocess.run(cmd, env=airflow_env(settings), stdout=log, stderr=subprocess.STDOUT).returncode
    latest = settings.reports_dir / dag_id / "latest.json"
    if latest.exists():
        report = json.loads(latest.read_text())
        print(render_terminal(report))
        print(f"report: {latest}\nHTML:   {latest.with_suffix('.html').as_uri()}")
    print(f"{command}: DAG run {'succeeded' if code == 0 else 'FAILED'} in {time.monotonic() - started:.1f}s")
    if code != 0:
        print(f"{command}: see {log_path}")
    return code


def cmd_quarantine_replay(args: argparse.Namespace) -> int:
    """Replay quarantined records of the given reason codes through Silver (as kol_quarantine_replay: a WAP
    chain, audited and published); with --dry-run, count per reason what would move and write nothing."""
    from lakehouse.core.errors import DataBreach
    from lakehouse.core.params import validated

    params = {"reasons": args.reasons, "since": args.since, "until": args.until, "dry_run": args.dry_run}
    try:
        validated("replay_quarantine", params)  # a bad selection fails before Spark or Airflow
    except DataBreach as exc:
        print(f"quarantine replay: {exc}")
        return 2
    settings = get_settings()
    if not args.dry_run:
        return dags_test(settings, "kol_quarantine_replay", params, "quarantine-replay")
    from lakehouse.jobs.replay import replay
    from lakehouse.spark.session import get_session

    replay(get_session("quarantine-replay", settings), params=params)  # prints one line per reason
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase data subjects (platform:kol_id) from every layer and its history, and prove it (as kol_erasure)."""
    from lakehouse.core.errors import DataBreach
    from lakehouse.jobs.erasure import erase_subjects, request_from
    from lakehouse.orchestration.lease import acquire_wap_lease, release_wap_lease
    from lakehouse.orchestration.tasks.checks import readiness_report
    from lakehouse.spark.session import get_session

    settings = get_settings()
    params = {"subjects": args.subjects, "request_id": args.request_id, "reason": args.reason}
    try:
        request_from(params)  # a bad request fails before the lease and Spark
    except DataBreach as exc:
        print(f"erase: {exc}")
        return 2
    dag_id, run_id, result = "kol_erasure", f"cli__{args.request_id}", None
    acquire_wap_lease(run_id, wait_s=args.wait, settings=settings)
    try:
        result = erase_subjects(get_session("erase", settings), dag_id=dag_id, run_id=run_id, params=params)
    except DataBreach as exc:
        print(f"erase: {exc}")
    finally:
        release_wap_lease(run_id, settings=settings)
    report = readiness_report(dag_id=dag_id, run_id=run_id, upstream={"erase_subjects": result},
                              expected_tasks=("erase_subjects",), settings=settings)
    return 0 if result is not None and report["passed"] else 1


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the platform as a service: the embedded broker + Redis, then `airflow standalone` (API server and
    UI, scheduler, DAG processor, triggerer, LocalExecutor) until Ctrl-C; stops the services it started."""
    from lakehouse.orchestration.airflow_env import USERS_ENV, admin_password_file, airflow_env, service_env
    from lakehouse.services.manager import ServiceManager

    if (code := cmd_setup(args)) != 0:
        return code
    settings = get_settings()
    manager = ServiceManager(settings)
    started_here = not any(s.owned for s in manager.status())
    manager.up()
    env = {**airflow_env(settings), **service_env(args.port, users=os.environ.get(USERS_ENV))}
    print(f"serve: Airflow on {env['AIRFLOW__API__BASE_URL']} (user admin, password in "
          f"{admin_password_file(env)}); Ctrl-C stops", flush=True)
    # Ctrl-C reaches standalone itself (same process group) and it stops its components, so this process
    # ignores it and waits; a service manager's SIGTERM is passed on as the SIGINT standalone stops on (once:
    # a second one interrupts its shutdown). A shell starts background jobs with SIGINT ignored: reset it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    process = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    signal.signal(signal.SIGTERM, lambda *_: process.send_signal(signal.SIGINT))
    try:
        return process.wait()
    finally:
        if started_here:
            manager.down()


def cmd_suites_lint(args: argparse.Namespace) -> int:
    """Check every suite in expectations/ against the GX registry and the tables' Iceberg schemas."""
    from pathlib import Path

    from lakehouse.core.entities import WAP_TABLES
    from lakehouse.core.names import BRONZE_TABLES
    from lakehouse.iceberg.catalog import get_catalog, init_catalog
    from lakehouse.quality.suites import discover, lint

    settings = get_settings()
    directory = Path(args.dir) if args.dir else settings.expectations_dir
    init_catalog(settings)
    problems = lint(directory, get_catalog(settings), known_tables=(*WAP_TABLES, *BRONZE_TABLES.values()))
    for problem in problems:
        print(problem)
    print(f"suites lint: {len(discover(directory))} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_contracts_lint(args: argparse.Namespace) -> int:
    """Check every data contract in the contracts directory: one line per problem (file: rule); exit 1 on any."""
    from pathlib import Path

    from lakehouse.core.entities import contract_problems

    directory = Path(args.dir) if args.dir else get_settings().contracts_dir
    problems = contract_problems(directory)
    for problem in problems:
        print(problem)
    print(f"contracts lint: {len(list(directory.glob('*.json')))} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_suites_suggest(args: argparse.Namespace) -> int:
    """Profile a table's main and write a draft suite (every rule a warning) to expectations/<layer>/<table>.json."""
    from pathlib import Path

    from lakehouse.quality.lake_checks import row_key
    from lakehouse.quality.suites.suggest import suggest
    from lakehouse.spark.session import get_session
    from lakehouse.spark.tables import table_exists

    settings = get_settings()
    directory = Path(args.dir) if args.dir else settings.expectations_dir
    spark = get_session("suites-suggest", settings)
    if not table_exists(spark, args.table):
        print(f"suites suggest: no table {args.table} in the catalog")
        return 1
    key = tuple(k for k in args.key.split(",") if k) if args.key else row_key(args.table)
    result = suggest(spark, args.table, directory, key=key, force=args.force)
    if not result.written:
        print(f"suites suggest: {result.path} exists; left as it is (--force merges new expectations in)")
        return 1
    print(f"suites suggest: {result.path}: {result.added} expectation(s) suggested"
          + (f", {result.kept} kept" if result.kept else "")
          + " (meta.severity warning). Review them, set severity error on the rules that must stop a run, "
          "then `lakehouse suites lint`.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from lakehouse.quality.report import render_terminal

    path = get_settings().reports_dir / args.dag_id / "latest.json"
    if not path.exists():
        print(f"no report yet at {path}")
        return 1
    print(render_terminal(json.loads(path.read_text())))
    print(f"HTML: {path.with_suffix('.html').as_uri()}")
    return 0


def cmd_kcat(kcat_args: list[str]) -> int:
    """Run kcat against the configured broker (-b is added), e.g. `lakehouse kcat -C -t kol-profiles-raw -e`."""
    import os
    import shutil

    from lakehouse.kafka import kcat_env

    settings = get_settings()
    binary = shutil.which("kcat")
    if not binary:
        print("kcat not found: run `make setup` (installs Debian's kcat)")
        return 1
    argv = [binary, "-b", settings.kafka_bootstrap, *kcat_args]
    os.execve(binary, argv, kcat_env(settings))
    return 0  # not reached


def cmd_redis_restore(args: argparse.Namespace) -> int:
    """Rebuild the Redis hot path from the current Gold snapshot (the backup/restore drill)."""
    from lakehouse.core.checks import Status
    from lakehouse.core.names import PLATFORMS
    from lakehouse.quality.serving import serving_checks
    from lakehouse.serving.redis_publish import publish_gold

    settings = get_settings()
    result = publish_gold(settings)
    print(f"redis restore: Gold snapshot {result['gold_snapshot_id']} published as version {result['version']} "
          f"({', '.join(f'{p}={n}' for p, n in result['published'].items())}) in {result['seconds']}s")
    bad = [c for c in serving_checks(settings, PLATFORMS) if c.status == Status.FAIL]
    for check in bad:
        print(f"  FAIL {check.check_id}: observed {check.observed} threshold {check.threshold} {check.details}")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show the libraries' own logs too")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help=cmd_setup.__doc__).set_defaults(func=cmd_setup)
    sub.add_parser("setup-catalog", help=cmd_setup_catalog.__doc__).set_defaults(func=cmd_setup_catalog)
    sub.add_parser("airflow-env", help=cmd_airflow_env.__doc__).set_defaults(func=cmd_airflow_env)
    sub.add_parser("airflow-db-url", help=cmd_airflow_db_url.__doc__).set_defaults(func=cmd_airflow_db_url)
    sub.add_parser("up", help="start the embedded broker and redis (cluster profile: also PostgreSQL and "
                              "a Spark master with its workers)").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop what `up` started (never foreign processes)").set_defaults(func=cmd_down)
    sub.add_parser("doctor", help=cmd_doctor.__doc__).set_defaults(func=cmd_doctor)
    pub = sub.add_parser("publish-branch", help=cmd_publish_branch.__doc__)
    pub.add_argument("branch", help="the run's branch, audit_<run id>")
    pub.set_defaults(func=cmd_publish_branch)
    erase = sub.add_parser("erase", help=cmd_erase.__doc__)
    erase.add_argument("subjects", nargs="+", help="platform:kol_id, e.g. tiktok:ti_0000001")
    erase.add_argument("--request-id", required=True, help="the request's id (a ticket number)")
    erase.add_argument("--reason", required=True, help="the legal ground, e.g. 'GDPR Art. 17' (no personal data)")
    erase.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for the lake lease")
    erase.set_defaults(func=cmd_erase)
    add_quarantine_commands(sub)
    st = sub.add_parser("status", help="show embedded services")
    st.add_argument("--strict", action="store_true", help="exit 1 unless everything runs")
    st.set_defaults(func=cmd_status)
    demo = sub.add_parser("demo", help=cmd_demo.__doc__)
    demo.add_argument("--profiles", type=int, default=10_000, help="synthetic KOL profiles to produce")
    demo.add_argument("--bad-fraction", type=float, default=0.02, help="share of records with an injected fault")
    demo.add_argument("--seed", type=int, default=42, help="the dataset's seed (same seed, same bytes)")
    demo.add_argument("--keep-services", action="store_true", help="leave the broker and Redis running")
    demo.add_argument("--keep-data", action="store_true", help="do not reset the embedded lake first")
    demo.set_defaults(func=cmd_demo)
    serve = sub.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("--port", type=int, default=8080, help="API server and UI port (default 8080)")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("kcat", help=cmd_kcat.__doc__, add_help=False)  # arguments pass through to kcat
    suites = sub.add_parser("suites", help="expectation suites").add_subparsers(dest="suites_command", required=True)
    lint_cmd = suites.add_parser("lint", help=cmd_suites_lint.__doc__)
    lint_cmd.add_argument("--dir", default="", help="suites directory (default: LAKEHOUSE_EXPECTATIONS_DIR)")
    lint_cmd.set_defaults(func=cmd_suites_lint)
    suggest_cmd = suites.add_parser("suggest", help=cmd_suites_suggest.__doc__)
    suggest_cmd.add_argument("table", help="e.g. silver.kol_videos")
    suggest_cmd.add_argument("--force", action="store_true", help="merge new expectations into an existing file")
    suggest_cmd.add_argument("--key", default="", help="columns whose combination is unique (default: the "
                                                       "table's business key)")
    suggest_cmd.add_argument("--dir", default="", help="suites directory (default: LAKEHOUSE_EXPECTATIONS_DIR)")
    suggest_cmd.set_defaults(func=cmd_suites_suggest)
    contracts = sub.add_parser("contracts", help="data contracts").add_subparsers(dest="contracts_command",
                                                                                 required=True)
    contracts_lint = contracts.add_parser("lint", help=cmd_contracts_lint.__doc__)
    contracts_lint.add_argument("--dir", default="", help="contracts directory (default: LAKEHOUSE_CONTRACTS_DIR)")
    contracts_lint.set_defaults(func=cmd_contracts_lint)
    redis_cmd = sub.add_parser("redis", help="the Redis hot path").add_subparsers(dest="redis_command", required=True)
    redis_cmd.add_parser("restore", help=cmd_redis_restore.__doc__).set_defaults(func=cmd_redis_restore)
    rep = sub.add_parser("report", help="print the latest readiness report of a DAG")
    rep.add_argument("--dag-id", default="kol_platform_e2e", help="whose latest report to print")
    rep.set_defaults(func=cmd_report)
    return parser


def add_quarantine_commands(sub: argparse._SubParsersAction) -> None:
    """``lakehouse quarantine replay``."""
    quarantine = sub.add_parser("quarantine", help="silver.quarantine").add_subparsers(
        dest="quarantine_command", required=True)
    replay_cmd = quarantine.add_parser("replay", help=cmd_quarantine_replay.__doc__)
    replay_cmd.add_argument("reasons", nargs="+", help="reason codes, e.g. missing_field bad_timestamp")
    replay_cmd.add_argument("--since", default="", help="only records quarantined at or after (ISO 8601)")
    replay_cmd.add_argument("--until", default="", help="only records quarantined at or before (ISO 8601)")
    replay_cmd.add_argument("--dry-run", action="store_true", help="count per reason what would move")
    replay_cmd.set_defaults(func=cmd_quarantine_replay)


def main(argv: list[str] | None = None) -> int:
    import logging

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["kcat"]:
        return cmd_kcat(argv[1:])
    args = build_parser().parse_args(argv)
    # a command prints one line per problem it found; libraries' own logs (with their tracebacks) only with -v
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except ProjectNotFoundError as exc:  # run outside a project: one line saying where it looked
        print(f"lakehouse: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
