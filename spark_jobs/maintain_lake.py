"""spark-submit entry: Iceberg table maintenance (see lakehouse.jobs.maintenance.maintain_lake)."""

from lakehouse.jobs.maintenance import maintain_lake
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("maintain_lake", maintain_lake)
