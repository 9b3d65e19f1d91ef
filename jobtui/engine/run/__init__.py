"""The run lifecycle: executors, the worker, the command runner, the log writer."""
