"""Built-in datasets. (Placeholder names; the real field lists come with the datagen work.)"""

from __future__ import annotations

from typing import Any

BUILTIN_DATASETS: dict[str, dict[str, Any]] = {
    name: {"name": name, "description": "", "fields": []}
    for name in (
        "users",
        "customers",
        "orders",
        "products",
        "payments",
        "clickstream",
        "iot_readings",
        "app_logs",
    )
}
