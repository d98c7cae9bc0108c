"""Airflow glue: hooks, the Spark operator, assets, DAG defaults and the task bodies by DAG.

The top of the library: it may import every layer below; nothing below imports it.
"""
