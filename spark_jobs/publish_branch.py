"""spark-submit entry: fast-forward main to the audited branch and drop it (see lakehouse.etl.wap)."""

from lakehouse.etl import wap
from lakehouse.spark.job import run

if __name__ == "__main__":
    run("publish_branch", wap.run_publish)
