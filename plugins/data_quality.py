"""Airflow plugin: the "Data quality" view of the KOL Lakehouse readiness reports.

A FastAPI app under /data-quality (every route needs a logged-in Airflow user)
and two external views: an entry in the navigation, and a tab on each DAG
run that opens that run's report. The pages are built by
``lakehouse.orchestration.quality_ui``; this file only registers them.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lakehouse.orchestration.quality_ui import URL_PREFIX, create_app


class DataQualityPlugin(AirflowPlugin):
    name = "kol_lakehouse_data_quality"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Data quality"}]
    external_views = [
        {"name": "Data quality", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": "data-quality",
         "category": "browse"},
        {"name": "Data quality", "href": URL_PREFIX + "/dags/{DAG_ID}/runs/{RUN_ID}", "destination": "dag_run",
         "url_route": "data-quality-run"},
    ]
