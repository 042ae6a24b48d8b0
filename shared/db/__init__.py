"""PostgreSQL access: pools, migrations, the unit of work, outbox and inbox."""
