"""Trust-model training time: 100,000 labeled KOLs (Silver built by the real ETL), fit + evaluate + gates."""

from __future__ import annotations

from bench.common import spark_lake, timed


def run(profiles: int = 100_000) -> dict:
    from bench.etl import load_bronze, spec
    from lakehouse.datagen import generate
    from lakehouse.jobs.transform import build_silver
    from lakehouse.ml.labels import write_labels
    from lakehouse.ml.train import Gates, train_and_evaluate, training_frame

    with spark_lake("ml") as (settings, spark):
        dataset = generate(spec(profiles, seed=5))
        load_bronze(settings, dataset)
        write_labels(settings, dataset.labels)
        build_silver(spark, run_id="bench")
        data = training_frame(spark).cache()
        rows = data.count()
        seconds, (_, result) = timed(train_and_evaluate, spark, data, seed=42, gates=Gates())
        data.unpersist()
    return {"labeled_kols": rows, "train_evaluate_s": round(seconds, 2), "auc": result.metrics["auc"],
            "precision": result.metrics["precision"], "recall": result.metrics["recall"],
            "brier": result.metrics["brier"], "behavioural": result.behavioural, "gates_passed": result.passed}
