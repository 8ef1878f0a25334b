"""Storage layer: SQLAlchemy models, sessions, the repository (the only module that writes SQL), migrations."""
