"""Alembic migrations of the eakte database schema."""
