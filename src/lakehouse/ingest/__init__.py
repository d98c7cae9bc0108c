"""Kafka -> Bronze: raw bytes into Iceberg, exactly once (table, ordered writer, consumer loop)."""
