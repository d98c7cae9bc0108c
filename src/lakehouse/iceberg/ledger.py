"""The erasure ledger (``audit.erasure_ledger``): which subjects were erased, as salted hashes, never in clear.

Ingestion and the Silver job consult it so that a record of an erased subject delivered again (a consumer
reset, a replayed topic) is accounted for and dropped, its payload never written. One row per subject and
request: ``requested`` when the erasure starts (before any table is touched, so a record arriving during the
erasure is already refused), ``erased`` when its proof passed.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.config import Settings
from lakehouse.core.erasure import ErasedSubjects, ErasureRequest, subject_hash
from lakehouse.core.names import ERASURE_LEDGER_TABLE, run_properties
from lakehouse.iceberg.catalog import ensure_table, get_catalog
from lakehouse.iceberg.filters import equal
from lakehouse.iceberg.snapshots import table_or_none

if TYPE_CHECKING:
    from pyiceberg.table import Table

SCHEMA = pa.schema([
    pa.field("subject_hash", pa.string(), nullable=False),
    pa.field("request_id", pa.string(), nullable=False),
    pa.field("reason", pa.string()),
    pa.field("status", pa.string(), nullable=False),  # requested | erased
    # JSON counts (rows per table before the erasure): a re-run after a kill erases by the first run's plan
    pa.field("plan", pa.string()),
    pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
])
REQUESTED, ERASED = "requested", "erased"


def erasure_salt(settings: Settings) -> str:
    """``LAKEHOUSE_ERASURE_SALT``, else the salt generated once under the state dir (mode 0600)."""
    if settings.erasure_salt:
        return settings.erasure_salt
    path = settings.erasure_dir / "salt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        os.replace(path.with_suffix(".tmp"), path)  # two first users race: one salt wins, both read it
    return str(path.read_text().strip())


def _table(settings: Settings) -> Table:
    return ensure_table(get_catalog(settings), ERASURE_LEDGER_TABLE, SCHEMA)


def request_hashes(settings: Settings, request: ErasureRequest) -> frozenset[str]:
    """The salted hashes of a request's subjects (what the ledger keeps of them)."""
    salt = erasure_salt(settings)
    return frozenset(subject_hash(salt, s.platform, s.kol_id) for s in request.subjects)


def record_status(settings: Settings, request: ErasureRequest, status: str, plan: dict[str, Any], *,
                  dag_id: str = "", run_id: str = "") -> int:
    """Write the request's rows with ``status`` in one commit, replacing its earlier rows (a re-run writes
    the same rows again, never a second set)."""
    now = datetime.now(UTC)
    rows = [{"subject_hash": h, "request_id": request.request_id, "reason": request.reason, "status": status,
             "plan": json.dumps(plan, sort_keys=True), "recorded_at": now}
            for h in sorted(request_hashes(settings, request))]
    with warnings.catch_warnings():  # a new request has nothing to replace
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        _table(settings).overwrite(pa.Table.from_pylist(rows, schema=SCHEMA),
                                   overwrite_filter=equal("request_id", request.request_id),
                                   snapshot_properties=run_properties(dag_id, run_id))
    return len(rows)


def erased_hashes(settings: Settings) -> frozenset[str]:
    """Every subject hash in the ledger (requested or erased: either way its records must not come back)."""
    table = table_or_none(get_catalog(settings), ERASURE_LEDGER_TABLE)
    if table is None or table.current_snapshot() is None:
        return frozenset()
    return frozenset(table.scan(selected_fields=("subject_hash",)).to_arrow().column("subject_hash").to_pylist())


def recorded_request(settings: Settings, request_id: str) -> tuple[str, dict[str, Any]] | None:
    """``(status, plan)`` recorded for ``request_id``; None: never seen."""
    table = table_or_none(get_catalog(settings), ERASURE_LEDGER_TABLE)
    if table is None or table.current_snapshot() is None:
        return None
    rows = table.scan(row_filter=equal("request_id", request_id), selected_fields=("status", "plan")).to_arrow().to_pylist()
    if not rows:
        return None
    return rows[0]["status"], json.loads(rows[0]["plan"] or "{}")


def erased_subjects(settings: Settings) -> ErasedSubjects:
    """The ledger as ingestion consults it (the salt is only read when the ledger holds a subject)."""
    hashes = erased_hashes(settings)
    return ErasedSubjects(erasure_salt(settings) if hashes else "", hashes)
