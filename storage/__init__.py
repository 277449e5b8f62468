"""Persistence: the database (SQLAlchemy models and Alembic migrations) and, later, the
document store."""
