"""spark-submit entry: fast-forward main to the audited branch and drop it (see lakehouse.jobs.transform.publish_branch)."""

from lakehouse.jobs.transform import publish_branch
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("publish_branch", publish_branch)
