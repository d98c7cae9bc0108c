#!/bin/bash
# Second database on the same server: the Iceberg JDBC catalog shared by Spark, pyiceberg and Trino.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE USER iceberg WITH PASSWORD '${ICEBERG_DB_PASSWORD}';
CREATE DATABASE iceberg OWNER iceberg;
SQL
