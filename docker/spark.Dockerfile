# Spark 3.5 master/worker with the Python libraries the jobs' UDFs use on executors (pinned set).
FROM apache/spark:3.5.7-python3
USER root
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt numpy pandas pyarrow
USER spark
