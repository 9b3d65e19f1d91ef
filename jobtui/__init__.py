"""jobtui: a keyboard-driven terminal dashboard for jobs."""

__version__ = "0.1.0"
