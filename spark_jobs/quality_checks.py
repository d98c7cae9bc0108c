"""spark-submit entry: the nightly Spark-side checks on main (see lakehouse.jobs.nightly.nightly_lake_checks)."""

from lakehouse.jobs.nightly import nightly_lake_checks
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("quality_checks", nightly_lake_checks)
