"""Trust scores from a trained model: the score column and a scorer for the champion.

Trust score = 20 + 80 x P(authentic): a calibrated probability (logistic
regression) mapped onto the test plan's 0-100 scale, where an obvious bot
sits at the floor (~20) and an established creator near 100.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.ml.features import KEY, kol_features

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

TRUST_FLOOR = 20.0


def trust_score_column(probability_col: str = "probability") -> Column:
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    return F.round(F.lit(TRUST_FLOOR) + (100.0 - TRUST_FLOOR) * vector_to_array(F.col(probability_col))[1], 4)


def model_scorer(artifact_path: str) -> Callable[[dict[str, DataFrame]], DataFrame]:
    """``scores(frames) -> DataFrame(platform, kol_id, trust_score)`` for the model saved at ``artifact_path``.

    ``frames``: Silver ``{"profiles", "videos", "comments"}`` DataFrames, the same
    inputs the model was trained on (:func:`lakehouse.ml.features.kol_features`).
    """
    from pyspark.ml import PipelineModel

    model = PipelineModel.load(artifact_path)

    def scores(frames: dict[str, DataFrame]) -> DataFrame:
        features = kol_features(frames["profiles"], frames["videos"], frames["comments"])
        return model.transform(features).select(*KEY, trust_score_column().alias("trust_score"))

    return scores
