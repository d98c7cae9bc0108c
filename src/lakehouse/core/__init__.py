"""The bottom layer: check types, errors, names, entity contracts and score weights.

Everything else in ``lakehouse`` may import it; it imports nothing of ours
and no engine (no Spark, Arrow, Airflow), so the rules written here are the
one place each rule lives.
"""
