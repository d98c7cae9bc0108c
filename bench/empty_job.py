"""The floor of a Spark task: spark-submit, the lakehouse session, one catalog lookup and one tiny query, stop.

Submitted by ``bench/transform.py`` (``floor``); prints the seconds from the JVM's start to each point.
"""

import json
import time

import psutil

from lakehouse.spark.session import get_session

if __name__ == "__main__":
    jvm_started = psutil.Process().parent().create_time()
    spark = get_session("lakehouse-empty")
    session_up = time.time()
    spark.sql("SHOW TABLES IN lake.bronze").collect()
    spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().collect()
    print("FLOOR " + json.dumps({"session_up": round(session_up - jvm_started, 2),
                                 "first_queries_done": round(time.time() - jvm_started, 2)}), flush=True)
    spark.stop()
