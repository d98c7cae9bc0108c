"""spark-submit entry: train the trust model, apply the gates, register and promote (see lakehouse.jobs.training.train_trust_model)."""

from lakehouse.jobs.training import train_trust_model
from lakehouse.spark.submit import run_job

if __name__ == "__main__":
    run_job("train_trust_model", train_trust_model)
