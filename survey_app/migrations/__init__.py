"""Alembic migrations of the schema; `survey-app db init` applies them."""
