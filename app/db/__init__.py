"""The task store: table, session factory, repository and migrations."""
