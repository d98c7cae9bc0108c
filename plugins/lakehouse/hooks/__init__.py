"""Airflow hooks: endpoints and credentials come from Airflow connections, defaults from settings."""
