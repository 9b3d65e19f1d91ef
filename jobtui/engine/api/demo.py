"""Demo jobs for a first start: each schedule kind and several sinks, clearly named."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def demo_specs(data_dir: Path) -> list[dict[str, Any]]:
    out_dir = str(data_dir / "demo-out")
    file_sink = {
        "type": "file",
        "options": {"base_dir": out_dir, "path": "{job}/{dataset}-{run}.{ext}"},
    }
    return [
        {
            "name": "users-demo",
            "description": "Demo: 1,000 users as JSON lines into a file, on demand",
            "tags": ["demo"],
            "datagen": {
                "datasets": ["users"],
                "max_records": 1000,
                "seed": 42,
                "generator": {"format": "jsonl"},
                "sinks": [file_sink],
            },
        },
        {
            "name": "orders-csv-every-5m-demo",
            "description": "Demo: customers and their orders as CSV every 5 minutes",
            "tags": ["demo", "csv"],
            "schedule": {"type": "cron", "cron": "*/5 * * * *"},
            "policies": {
                "retry": {"attempts": 2, "delay": "1m"},
                "timeout": "10m",
                "overlap": "skip",
                "misfire": {"policy": "once", "cap": 10},
            },
            "datagen": {
                "datasets": ["customers", "orders"],
                "max_records": 500,
                "generator": {"format": "csv", "options": {"delimiter": ",", "header": True}},
                "replay": {"enabled": True, "keep": 3},
                "sinks": [file_sink],
            },
        },
        {
            "name": "clickstream-sqlite-interval-demo",
            "description": "Demo: clickstream events into a SQLite table every 10 minutes",
            "tags": ["demo", "sqlite"],
            "active": False,
            "schedule": {"type": "interval", "every": "10m"},
            "datagen": {
                "datasets": ["clickstream"],
                "max_records": 2000,
                "sinks": [
                    {
                        "type": "sqlite",
                        "options": {
                            "path": str(data_dir / "demo-out" / "demo.sqlite"),
                            "table": "{dataset}",
                        },
                    }
                ],
            },
        },
        {
            "name": "iot-random-delay-demo",
            "description": "Demo: IoT readings to the console, 10–60 minutes after each run",
            "tags": ["demo"],
            "schedule": {"type": "random", "min_delay": "10m", "max_delay": "60m"},
            "datagen": {
                "datasets": ["iot_readings"],
                "max_records": 20,
                "generator": {"format": "jsonl"},
                "sinks": [{"type": "console"}],
            },
        },
        {
            "name": "payments-window-demo",
            "description": "Demo: payments as SQL inserts during office hours on weekdays",
            "tags": ["demo", "window"],
            "active": False,
            "schedule": {
                "type": "window",
                "from_time": "08:00",
                "to_time": "18:00",
                "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "retry_every": "30m",
            },
            "datagen": {
                "datasets": ["payments"],
                "max_records": 300,
                "generator": {"format": "sql", "options": {"dialect": "postgresql"}},
                "sinks": [file_sink],
            },
        },
        {
            "name": "nightly-backup-command-demo",
            "description": "Demo: a command job, once at a set time",
            "tags": ["demo", "command"],
            "kind": "command",
            "active": False,
            "schedule": {
                "type": "once",
                "at": "2030-01-01T03:30",
                "expires": "2h",
                "retry_every": "15m",
            },
            "command": {
                "argv": ["sh", "-c", "echo backing up; sleep 2; echo done"],
                "shell": False,
            },
        },
    ]
