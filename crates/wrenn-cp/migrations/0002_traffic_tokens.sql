-- Per-capsule traffic tokens for the port proxy: the SHA-256 hex of the
-- capsule's current token, '' while none was issued. The token itself is
-- shown once, when it is issued (`POST /v1/capsules/{id}/traffic-token`).
ALTER TABLE capsules ADD COLUMN traffic_token_hash TEXT NOT NULL DEFAULT '';
