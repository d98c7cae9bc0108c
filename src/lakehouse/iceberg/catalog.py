"""The pyiceberg view of the ``lake`` catalog (same JDBC database Spark uses)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyiceberg and pyarrow load with the first catalog, not with this module
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

from lakehouse.config import Settings, get_settings
from lakehouse.core.names import CATALOG_NAME, FIRST_PUBLISHED, FIRST_PUBLISHED_NAMESPACE, MAIN, NAMESPACES


def catalog_properties(settings: Settings) -> dict[str, str]:
    """pyiceberg's SqlCatalog properties; ``uri`` carries the password (from its own setting): never print."""
    props = {"uri": settings.catalog_connect_uri(), "warehouse": settings.warehouse_uri}
    if settings.s3_endpoint:
        props.update({"s3.endpoint": settings.s3_endpoint, "s3.path-style-access": "true"})
    return props


@lru_cache(maxsize=8)
def _catalog(uri: str, user: str, password: str, warehouse: str, s3_endpoint: str) -> Catalog:
    from pyiceberg.catalog.sql import SqlCatalog

    settings = Settings(catalog_uri=uri, catalog_user=user, catalog_password=password, warehouse=warehouse,
                        s3_endpoint=s3_endpoint)
    return SqlCatalog(CATALOG_NAME, **catalog_properties(settings))


def get_catalog(settings: Settings | None = None) -> Catalog:
    """Open (and cache per location and credentials) the pyiceberg SqlCatalog; creates its tables if new."""
    settings = settings or get_settings()
    return _catalog(settings.catalog_sqlalchemy_uri, settings.catalog_user, settings.catalog_password,
                    settings.warehouse_uri, settings.s3_endpoint)


# What every commit leaves behind stays bounded between two maintenance runs (both engines honour these):
# - each commit writes a new metadata.json: keep the last few, delete older ones on commit;
# - each append writes a manifest: merge small manifests on commit (Java's default; pyiceberg's fast append
#   otherwise adds one manifest-list entry per commit, so a 15-minute ingest's commit cost grows all day).
METADATA_RETENTION = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "commit.manifest-merge.enabled": "true",
}
# pyiceberg re-applies a commit that lost a race on top of what it did not read; for a writer that derives
# its commit from what it read (Bronze offsets, registry versions), a conflict must fail and be redone.
NO_BLIND_RETRY = {"commit.retry.num-retries": "0"}


def ensure_table(catalog: Catalog, name: str, schema: pa.Schema | Schema,
                 properties: dict[str, str] | None = None) -> Table:
    """The table ``name`` (``<namespace>.<table>``), created with ``schema`` and its namespace if missing."""
    catalog.create_namespace_if_not_exists(name.split(".", 1)[0])
    return catalog.create_table_if_not_exists(
        name, schema=schema, properties={"format-version": "2", **METADATA_RETENTION, **(properties or {})})


def ensure_bucket(settings: Settings) -> bool:
    """An ``s3://`` warehouse's bucket, created with boto3 if missing (credentials from the AWS_* env);
    True when it was created. A file warehouse: nothing to do."""
    from urllib.parse import urlsplit

    if not settings.warehouse_uri.startswith("s3://"):
        return False
    import boto3
    from botocore.exceptions import ClientError

    bucket = urlsplit(settings.warehouse_uri).netloc
    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint or None)
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    s3.create_bucket(Bucket=bucket)
    return True


def init_catalog(settings: Settings | None = None) -> None:
    """Create the catalog database (SQLite in WAL mode so readers never block a commit), the warehouse's
    bucket when it is on S3, and the namespaces."""
    settings = settings or get_settings()
    settings.ensure_dirs()
    ensure_bucket(settings)
    if settings.is_sqlite_catalog:
        import sqlite3

        with sqlite3.connect(settings.catalog_sqlalchemy_uri.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    catalog = get_catalog(settings)
    for ns in NAMESPACES:
        catalog.create_namespace_if_not_exists(ns)


def reset_lake(settings: Settings) -> None:
    """Drop every table of the embedded lake, delete its warehouse files and forget its first publish.

    Only for the embedded default (SQLite catalog, file warehouse under the state
    dir): refuses anything else, so it can never wipe a shared catalog. The
    database file itself is kept, so open JDBC connections stay valid.
    """
    import shutil
    from pathlib import Path
    from urllib.parse import urlsplit

    warehouse = Path(urlsplit(settings.warehouse_uri).path)
    state = settings.state_dir.resolve()
    if not (settings.is_sqlite_catalog and settings.warehouse_uri.startswith("file:")
            and state in warehouse.resolve().parents):
        raise RuntimeError("reset_lake only works on the embedded catalog and warehouse under the state dir")
    init_catalog(settings)
    catalog = get_catalog(settings)
    for ns in catalog.list_namespaces():
        for identifier in catalog.list_tables(ns):
            catalog.drop_table(identifier)
    if _first_publish_mark(catalog) is not None:  # a fresh lake again
        catalog.update_namespace_properties(FIRST_PUBLISHED_NAMESPACE, removals={FIRST_PUBLISHED})
    shutil.rmtree(warehouse, ignore_errors=True)
    warehouse.mkdir(parents=True, exist_ok=True)


def _first_publish_mark(catalog: Catalog) -> str | None:
    """The namespace property :func:`mark_first_publish` set, or None (no mark, or no namespace yet)."""
    from pyiceberg.exceptions import NoSuchNamespaceError

    try:
        marked = catalog.load_namespace_properties(FIRST_PUBLISHED_NAMESPACE).get(FIRST_PUBLISHED)
    except NoSuchNamespaceError:
        return None
    return str(marked) if marked else None


def mark_first_publish(catalog: Catalog, published_by: str) -> None:
    """Record on the catalog, once, that the lake has published (``published_by``: what published, and when).

    A namespace property, so it outlives any table: a table dropped after this is a table that vanished."""
    if _first_publish_mark(catalog) is not None:
        return
    catalog.create_namespace_if_not_exists(FIRST_PUBLISHED_NAMESPACE)
    catalog.update_namespace_properties(FIRST_PUBLISHED_NAMESPACE, updates={FIRST_PUBLISHED: published_by})


def first_publish(catalog: Catalog, tables: tuple[str, ...] = ()) -> str | None:
    """What :func:`mark_first_publish` recorded, or None when the lake has never published.

    A lake that published before the mark existed is recognised by a ``main`` snapshot on any of ``tables``."""
    from pyiceberg.exceptions import NoSuchTableError

    if (marked := _first_publish_mark(catalog)) is not None:
        return marked
    for name in tables:
        try:
            if MAIN in catalog.load_table(name).refs():
                return f"{name} has a main snapshot"
        except NoSuchTableError:
            continue
    return None
