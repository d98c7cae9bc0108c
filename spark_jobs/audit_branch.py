"""spark-submit entry: audit the run's WAP branch (counts, lineage, every suite) (see lakehouse.jobs.transform.audit_branch)."""

from lakehouse.jobs.transform import audit_branch
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("audit_branch", audit_branch)
