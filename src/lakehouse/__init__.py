"""KOL Lakehouse: the importable library behind the DAGs and Spark jobs."""
