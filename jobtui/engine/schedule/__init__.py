"""Schedules: cron rules, the daemon (lease, firing, reconciliation, post-run), alerts."""
