"""pyiceberg infrastructure: the catalog, and small named helpers over snapshots and refs."""
