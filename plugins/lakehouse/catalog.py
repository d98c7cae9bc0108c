"""The pyiceberg view of the ``lake`` catalog (same JDBC database Spark uses)."""

from __future__ import annotations

from functools import lru_cache

from lakehouse.config import CATALOG_NAME, Settings, get_settings

NAMESPACES = ("bronze", "silver", "gold", "ml", "audit")


def catalog_properties(settings: Settings) -> dict[str, str]:
    props = {"uri": settings.catalog_sqlalchemy_uri, "warehouse": settings.warehouse_uri}
    if settings.s3_endpoint:
        props.update({"s3.endpoint": settings.s3_endpoint, "s3.path-style-access": "true"})
    return props


@lru_cache(maxsize=8)
def _catalog(uri: str, warehouse: str, s3_endpoint: str):
    from pyiceberg.catalog.sql import SqlCatalog

    settings = Settings(catalog_uri=uri, warehouse=warehouse, s3_endpoint=s3_endpoint)
    return SqlCatalog(CATALOG_NAME, **catalog_properties(settings))


def get_catalog(settings: Settings | None = None):
    """Open (and cache per location) the pyiceberg SqlCatalog; creates its tables if new."""
    settings = settings or get_settings()
    return _catalog(settings.catalog_sqlalchemy_uri, settings.warehouse_uri, settings.s3_endpoint)


def init_catalog(settings: Settings | None = None) -> None:
    """Create the catalog database (SQLite in WAL mode so readers never block a commit) and namespaces."""
    settings = settings or get_settings()
    settings.ensure_dirs()
    if settings.is_sqlite_catalog:
        import sqlite3

        with sqlite3.connect(settings.catalog_sqlalchemy_uri.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    catalog = get_catalog(settings)
    for ns in NAMESPACES:
        catalog.create_namespace_if_not_exists(ns)
