# Airflow 3.3 with Java (spark-submit runs the driver in client mode) and the project's pinned set.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      openjdk-17-jre-headless libpostgresql-jdbc-java kcat \
 && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow pyproject.toml constraints.txt README.md /opt/project/
COPY --chown=airflow src /opt/project/src
COPY --chown=airflow contracts /opt/project/contracts
COPY --chown=airflow plugins /opt/project/plugins
RUN pip install --no-cache-dir -c /opt/project/constraints.txt -e /opt/project
