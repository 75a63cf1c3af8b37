"""The database: engines and transactions, the connection pool, migrations."""
