"""spark-submit entry: train the trust model, apply the gates, register and promote (see lakehouse.ml.training_job)."""

from lakehouse.ml.training_job import run as train
from lakehouse.spark.job import run

if __name__ == "__main__":
    run("train_trust_model", train)
