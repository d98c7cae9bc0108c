"""spark-submit entry: Bronze -> Silver for every entity, on the run's WAP branch (see lakehouse.jobs.transform.build_silver)."""

from lakehouse.jobs.transform import build_silver
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("bronze_to_silver", build_silver)
