"""Spark ETL logic: Bronze -> Silver -> Gold (called by spark_jobs/)."""
