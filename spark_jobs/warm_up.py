"""spark-submit entry for `lakehouse setup`: the warm-up whose loaded classes become the driver's CDS archive
(see lakehouse.spark.class_archive)."""

from lakehouse.spark.class_archive import warm_up

if __name__ == "__main__":
    warm_up()
