"""spark-submit entry: audit the run's WAP branch (see lakehouse.etl.audit)."""

from lakehouse.etl import audit
from lakehouse.spark.job import run

if __name__ == "__main__":
    run("audit_branch", audit.run)
