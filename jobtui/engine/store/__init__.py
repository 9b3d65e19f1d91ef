"""The SQLite store: connections, schema and migrations, and every SQL statement."""
