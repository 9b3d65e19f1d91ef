"""Built-in datasets: realistic record shapes that ship with jobtui (read-only)."""

from __future__ import annotations

from typing import Any


def _f(name: str, type_: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **options}


def _faker(name: str, provider: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "type": "faker", "provider": provider, **options}


_DATASETS: list[dict[str, Any]] = [
    {
        "name": "users",
        "description": "People with an account: name, unique email, address, phone, employer",
        "fields": [
            _faker("name", "name"),
            _faker("email", "email", unique=True),
            _faker("address", "address"),
            _faker("phone", "phone_number"),
            _faker("company", "company"),
            _f("signup_date", "date_range", start="2018-01-01", end="2025-12-31"),
            _f("age", "integer", min=18, max=90),
            _f("id", "uuid"),
        ],
    },
    {
        "name": "customers",
        "description": "Customers with a postal address (orders reference their id)",
        "fields": [
            _f("id", "sequence", start=1),
            _faker("first_name", "first_name"),
            _faker("last_name", "last_name"),
            _faker("email", "email", unique=True),
            _faker("phone", "phone_number", nullable=10),
            {
                "name": "address",
                "type": "object",
                "fields": [
                    _faker("street", "street_address"),
                    _faker("city", "city"),
                    _faker("state", "state_abbr"),
                    _faker("postcode", "postcode"),
                    _faker("country", "current_country_code"),  # the locale's: US, DE...
                ],
            },
            _f(
                "segment",
                "choice",
                values=["consumer", "small_business", "enterprise"],
                weights=[70, 22, 8],
            ),
            _f("created_at", "datetime_range", start="2019-01-01", end="2025-12-31T23:59:59"),
        ],
    },
    {
        "name": "orders",
        "description": "Orders placed by customers (customer_id is an existing customers.id)",
        "fields": [
            _f("id", "sequence", start=100001),
            _f("customer_id", "reference", dataset="customers", field="id"),
            _f("order_number", "pattern", pattern="SO-####-??##", unique=True),
            _f("ordered_at", "datetime_range", start="2024-01-01", end="2025-12-31T23:59:59"),
            _f(
                "status",
                "choice",
                values=["pending", "paid", "shipped", "delivered", "cancelled", "refunded"],
                weights=[8, 12, 15, 55, 6, 4],
            ),
            _f("items", "integer", min=1, max=12),
            _f("total", "float", min=4.99, max=1499.0, decimals=2),
            _f("currency", "choice", values=["USD", "EUR", "GBP"], weights=[80, 12, 8]),
            _f(
                "channel",
                "choice",
                values=["web", "mobile", "store", "phone"],
                weights=[50, 35, 12, 3],
            ),
        ],
    },
    {
        "name": "products",
        "description": "A product catalogue: SKU, name, category, price, stock, tags",
        "fields": [
            _f("id", "sequence", start=1),
            _f("sku", "pattern", pattern="??-#####", unique=True),
            _faker("name", "catch_phrase"),
            _f(
                "category",
                "choice",
                values=[
                    "Electronics",
                    "Home & Kitchen",
                    "Books",
                    "Clothing",
                    "Sports",
                    "Toys",
                    "Beauty",
                    "Garden",
                ],
                weights=[18, 16, 12, 20, 10, 8, 9, 7],
            ),
            _f("price", "float", min=0.99, max=999.99, decimals=2),
            _f("stock", "integer", min=0, max=5000),
            _f("active", "boolean", true_percent=92),
            _f(
                "tags",
                "list",
                item={"type": "faker", "provider": "word"},
                min_items=0,
                max_items=4,
            ),
            _faker("description", "sentence", args={"nb_words": 12}, nullable=15),
        ],
    },
    {
        "name": "payments",
        "description": "Payments of orders (order_id is an existing orders.id)",
        "fields": [
            _f("id", "uuid"),
            _f("order_id", "reference", dataset="orders", field="id"),
            _f("amount", "float", min=4.99, max=1499.0, decimals=2),
            _f("currency", "choice", values=["USD", "EUR", "GBP"], weights=[80, 12, 8]),
            _f(
                "method",
                "choice",
                values=["card", "paypal", "bank_transfer", "apple_pay", "google_pay"],
                weights=[55, 20, 10, 9, 6],
            ),
            _faker("card_provider", "credit_card_provider", nullable=30),
            _f(
                "status",
                "choice",
                values=["captured", "authorized", "failed", "refunded"],
                weights=[85, 6, 6, 3],
            ),
            _f("paid_at", "datetime_range", start="2024-01-01", end="2025-12-31T23:59:59"),
        ],
    },
    {
        "name": "clickstream",
        "description": "Web analytics events: session, page, referrer, device",
        "fields": [
            _f("event_id", "uuid"),
            _f("session_id", "pattern", pattern="########????", case="lower"),
            _f("user_id", "integer", min=1, max=50000, nullable=35),
            _f("ts", "datetime_range", start="2025-06-01", end="2025-06-30T23:59:59"),
            _f(
                "event",
                "choice",
                values=["page_view", "click", "add_to_cart", "checkout", "purchase", "search"],
                weights=[55, 25, 8, 4, 2, 6],
            ),
            _faker("url", "uri"),
            _faker("referrer", "url", nullable=40),
            _faker("user_agent", "user_agent"),
            _faker("ip", "ipv4_public"),
            _f("device", "choice", values=["desktop", "mobile", "tablet"], weights=[45, 48, 7]),
            _f("duration_ms", "integer", min=20, max=120000),
        ],
    },
    {
        "name": "iot_readings",
        "description": "Sensor readings: device, time, temperature, humidity, battery",
        "fields": [
            _f("device_id", "pattern", pattern="SENSOR-####"),
            _f("ts", "datetime_range", start="2025-01-01", end="2025-12-31T23:59:59"),
            _f("temperature_c", "float", min=-20.0, max=45.0, decimals=2),
            _f("humidity_pct", "float", min=5.0, max=100.0, decimals=1),
            _f("pressure_hpa", "float", min=950.0, max=1050.0, decimals=1),
            _f("battery_pct", "integer", min=0, max=100),
            {
                "name": "location",
                "type": "object",
                "fields": [
                    _faker("lat", "latitude"),
                    _faker("lon", "longitude"),
                ],
            },
            _f("status", "choice", values=["ok", "warning", "error"], weights=[94, 5, 1]),
        ],
    },
    {
        "name": "app_logs",
        "description": "Application log lines: time, level, service, host, message, trace",
        "fields": [
            _f("ts", "datetime_range", start="2025-06-01", end="2025-06-30T23:59:59"),
            _f(
                "level",
                "choice",
                values=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                weights=[20, 62, 12, 5, 1],
            ),
            _f(
                "service",
                "choice",
                values=["api", "auth", "billing", "search", "worker", "frontend"],
            ),
            _faker("host", "hostname", args={"levels": 1}),
            _f("pid", "integer", min=100, max=65000),
            _faker("message", "sentence", args={"nb_words": 8}),
            _f("trace_id", "pattern", pattern="################", case="lower"),
            _f(
                "http_status",
                "choice",
                values=[200, 201, 204, 301, 400, 401, 403, 404, 500, 503],
                weights=[60, 6, 4, 2, 6, 4, 2, 8, 6, 2],
                nullable=20,
            ),
            _f("latency_ms", "float", min=0.2, max=2500.0, decimals=1),
        ],
    },
]

BUILTIN_DATASETS: dict[str, dict[str, Any]] = {d["name"]: d for d in _DATASETS}
