"""Spark job bodies, one per ``spark_jobs/<job>.py`` entry, by DAG.

Each composes the domains (etl, ml, quality) for one spark-submit: the
domains stay independent of each other, and this layer wires them.
"""
