"""Synthetic data: field types, datasets, generators (formats) and the run pipeline."""
