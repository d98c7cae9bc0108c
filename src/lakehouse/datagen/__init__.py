"""Synthetic KOL data with known ground truth and injectable faults."""

from lakehouse.datagen.generator import (
    FAULT_KINDS,
    FAULT_REASONS,
    Dataset,
    DatasetSpec,
    Record,
    generate,
    generate_chunks,
    merged_manifest,
)

__all__ = ["FAULT_KINDS", "FAULT_REASONS", "Dataset", "DatasetSpec", "Record", "generate", "generate_chunks", "merged_manifest"]
