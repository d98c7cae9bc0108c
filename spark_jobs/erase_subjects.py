"""spark-submit entry: right to erasure (see lakehouse.jobs.erasure.erase_subjects)."""

from lakehouse.jobs.erasure import erase_subjects
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("erase_subjects", erase_subjects)
