"""Storage: SQLAlchemy models, engine setup, transactions and migrations."""
