"""Pipeline jobs (issue 22): readers → transformers → writers, incremental with `since`.

`run.py` (the run), `readers.py` (file, datagen; the chain), `remote.py` (sql, http,
redis-stream), `parse.py` (bytes → records), `transform.py`, `chunks.py` (what flows).
Writers are the sinks, delivered through the datagen run's `Delivery`.
"""
