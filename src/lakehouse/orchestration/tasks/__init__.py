"""Task bodies by DAG: plain functions the DAG files wire, so tests can call them too."""
