"""spark-submit entry: Bronze -> Silver for every entity (see lakehouse.etl.silver)."""

from lakehouse.etl import silver
from lakehouse.spark.job import run

if __name__ == "__main__":
    run("bronze_to_silver", silver.run)
