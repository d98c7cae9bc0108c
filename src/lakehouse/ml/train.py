"""Train the trust model (Spark MLlib), evaluate it, and decide whether it may become the champion.

The score it produces is :func:`lakehouse.ml.scoring.trust_score_column` (20 + 80 x P(authentic)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.core.entities import entities
from lakehouse.core.names import LABELS_TABLE
from lakehouse.ml.features import FEATURES, KEY, kol_features, profile_frame
from lakehouse.ml.scoring import TRUST_FLOOR, trust_score_column
from lakehouse.spark.tables import qualified, read_as_of

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame, SparkSession

OPERATING_THRESHOLD = 0.5  # P(authentic) above which a KOL is called authentic
TRAIN_SHARE = 80  # percent of KOLs (by hash of key and seed) in the training split

# The test plan's behavioural cases and the trust-score range each must land in.
BEHAVIOURAL_CASES = {
    "high_quality": ({"followers_count": 1_000_000, "following_count": 500, "post_count": 200,
                      "favorites_count": 50_000_000, "account_age_days": 5 * 365, "verified": True,
                      "bio": "x" * 100, "url": "https://example.com", "profile_image_url": "https://img"},
                     (85.0, 100.0)),
    "low_quality": ({"followers_count": 1_000, "following_count": 2_000, "post_count": 5, "favorites_count": 100,
                     "account_age_days": 30, "verified": False, "bio": "", "url": None, "profile_image_url": None},
                    (20.0, 50.0)),
}


@dataclass
class Gates:
    min_auc: float = 0.85
    champion_margin: float = 0.02  # the challenger may trail the champion's AUC by at most this


@dataclass
class TrainingResult:
    metrics: dict[str, float]
    behavioural: dict[str, float]
    champion_auc: float | None
    failed_gates: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failed_gates

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def training_frame(spark: SparkSession, branch: str | None = None, labels: DataFrame | None = None) -> DataFrame:
    """Silver features joined with the labels (label 1 = authentic)."""
    from pyspark.sql import functions as F

    frames = {name: read_as_of(spark, e.silver_table, branch) for name, e in entities().items()}
    features = kol_features(frames["profiles"], frames["videos"], frames["comments"])
    labels = labels if labels is not None else spark.table(qualified(LABELS_TABLE))
    labels = labels.select(*KEY, (F.col("label") == "authentic").cast("double").alias("label"))
    return features.join(labels, list(KEY), "inner")


def split(df: DataFrame, seed: int) -> tuple[DataFrame, DataFrame]:
    """Reproducible hash split on the KOL key: the same KOL is always on the same side for a seed."""
    from pyspark.sql import functions as F

    bucket = F.abs(F.xxhash64(*KEY, F.lit(seed))) % 100
    return df.where(bucket < TRAIN_SHARE), df.where(bucket >= TRAIN_SHARE)


def fit(train: DataFrame, seed: int, reg_param: float = 0.01) -> PipelineModel:
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    pipeline = Pipeline(stages=[
        VectorAssembler(inputCols=list(FEATURES), outputCol="raw_features", handleInvalid="keep"),
        StandardScaler(inputCol="raw_features", outputCol="features"),
        LogisticRegression(featuresCol="features", labelCol="label", regParam=reg_param, maxIter=100),
    ])
    return pipeline.fit(train)


def evaluate(model: PipelineModel, test: DataFrame, threshold: float = OPERATING_THRESHOLD) -> dict[str, float]:
    """AUC, precision/recall at the operating threshold, and calibration (Brier score, 10 bins)."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    scored = model.transform(test).withColumn("p", vector_to_array("probability")[1]).cache()
    try:
        auc = BinaryClassificationEvaluator(labelCol="label", rawPredictionCol="rawPrediction",
                                            metricName="areaUnderROC").evaluate(scored)
        called = F.col("p") >= threshold
        row = scored.agg(
            F.count("*").alias("n"),
            F.sum(F.when(called & (F.col("label") == 1), 1).otherwise(0)).alias("tp"),
            F.sum(F.when(called & (F.col("label") == 0), 1).otherwise(0)).alias("fp"),
            F.sum(F.when(~called & (F.col("label") == 1), 1).otherwise(0)).alias("fn"),
            F.avg((F.col("p") - F.col("label")) ** 2).alias("brier"),
        ).first()
        bins = (scored.groupBy(F.least(F.floor(F.col("p") * 10), F.lit(9)).alias("bin"))
                .agg(F.count("*").alias("n"), F.avg("p").alias("predicted"), F.avg("label").alias("observed"))
                .orderBy("bin").collect())
    finally:
        scored.unpersist()
    calibration = [{"bin": int(b.bin), "n": b.n, "predicted": round(b.predicted, 4), "observed": round(b.observed, 4)}
                   for b in bins]
    ece = sum(b["n"] * abs(b["predicted"] - b["observed"]) for b in calibration) / max(row.n, 1)
    return {
        "auc": round(auc, 4),
        "threshold": threshold,
        "precision": round(row.tp / (row.tp + row.fp), 4) if row.tp + row.fp else 0.0,
        "recall": round(row.tp / (row.tp + row.fn), 4) if row.tp + row.fn else 0.0,
        "brier": round(row.brier, 4),
        "expected_calibration_error": round(ece, 4),
        "calibration": calibration,
        "holdout_rows": row.n,
    }


def score_profiles(spark: SparkSession, model: PipelineModel, cases: dict[str, Any] | None = None) -> dict[str, float]:
    """Trust scores of hand-written profiles (default: the behavioural cases)."""
    cases = cases or {name: profile for name, (profile, _) in BEHAVIOURAL_CASES.items()}
    out = {}
    for name, profile in cases.items():
        features = kol_features(profile_frame(spark, profile))
        out[name] = model.transform(features).select(trust_score_column().alias("t")).first().t
    return out


def check_gates(metrics: dict[str, float], behavioural: dict[str, float], champion_auc: float | None, gates: Gates) -> list[str]:
    failed = []
    if metrics["auc"] < gates.min_auc:
        failed.append(f"auc {metrics['auc']} < {gates.min_auc} on the holdout")
    for name, (_, (lo, hi)) in BEHAVIOURAL_CASES.items():
        if not lo <= behavioural[name] <= hi:
            failed.append(f"behavioural case {name}: trust score {behavioural[name]} not in [{lo}, {hi}]")
    if champion_auc is not None and metrics["auc"] < champion_auc - gates.champion_margin:
        failed.append(f"auc {metrics['auc']} is worse than the champion's {champion_auc} on the same holdout "
                      f"by more than {gates.champion_margin}")
    return failed


def train_and_evaluate(spark: SparkSession, data: DataFrame, *, seed: int, gates: Gates,
                       champion: PipelineModel | None = None,
                       reg_param: float = 0.01) -> tuple[PipelineModel, TrainingResult]:
    """Fit on the train split, evaluate on the holdout (champion too, on the same rows), apply the gates."""
    train, test = split(data, seed)
    train = train.cache()
    try:
        model = fit(train, seed, reg_param)
        train_rows = train.count()
    finally:
        train.unpersist()
    metrics = {**evaluate(model, test), "train_rows": train_rows}
    champion_auc = evaluate(champion, test)["auc"] if champion is not None else None
    behavioural = score_profiles(spark, model)
    failed = check_gates(metrics, behavioural, champion_auc, gates)
    params = {"seed": seed, "reg_param": reg_param, "features": list(FEATURES), "train_share": TRAIN_SHARE,
              "trust_floor": TRUST_FLOOR, **asdict(gates)}
    return model, TrainingResult(metrics, behavioural, champion_auc, failed, params)
