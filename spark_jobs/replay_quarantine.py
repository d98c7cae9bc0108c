"""spark-submit entry: quarantined records replayed into Silver on the run's WAP branch (see lakehouse.jobs.replay.replay)."""

from lakehouse.jobs.replay import replay
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("replay_quarantine", replay)
