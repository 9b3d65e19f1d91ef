"""Benchmarks: figures printed beside baselines measured in the same run. Never tests."""
