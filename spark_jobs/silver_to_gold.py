"""spark-submit entry: Silver -> Gold kol_summary with the champion's trust scores (see lakehouse.jobs.transform.build_gold)."""

from lakehouse.jobs.transform import build_gold
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("silver_to_gold", build_gold)
