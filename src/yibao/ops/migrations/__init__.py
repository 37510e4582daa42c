"""Alembic environment and versions of the operations store (shipped inside the package)."""
