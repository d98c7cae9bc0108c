"""spark-submit entry: the nightly Spark-side checks on main (see lakehouse.quality.nightly)."""

from lakehouse.quality.nightly import run_lake_checks
from lakehouse.spark.job import run

if __name__ == "__main__":
    run("quality_checks", run_lake_checks)
