"""spark-submit entry: Silver -> Gold kol_summary (see lakehouse.etl.gold)."""

from lakehouse.etl import gold
from lakehouse.spark.job import run

if __name__ == "__main__":
    run("silver_to_gold", gold.run)
