"""The speed benchmark and its synthetic-firm generator (not part of the package)."""
