-- astra-rotator schema, version 2: indexes for the token_ages view.
--
-- token_ages finds each client's credential with two correlated subqueries,
-- `min(name) FROM credentials WHERE current_client_id = ?` and the same on previous_client_id.
-- Without an index on those columns SQLite walks the whole credentials table (in name order)
-- for every client, twice per subquery: with 10,000 clients and 1,000 credentials
-- `SELECT * FROM token_ages` (and so `astra-rotator ages`, GET /v1/clients, metrics) took
-- 11-17 s; with these indexes about 0.1 s (scripts/bench ops).

CREATE INDEX credentials_by_current_client ON credentials (current_client_id, name)
    WHERE current_client_id IS NOT NULL;
CREATE INDEX credentials_by_previous_client ON credentials (previous_client_id, name)
    WHERE previous_client_id IS NOT NULL;
