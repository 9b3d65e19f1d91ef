"""Sinks: where generated records (or bytes) are delivered."""
