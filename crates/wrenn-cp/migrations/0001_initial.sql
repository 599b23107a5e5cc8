-- Wrenn control plane, first schema. Portable on purpose: the same queries
-- run on SQLite and PostgreSQL. Ids are the external text form (`cl-…`),
-- booleans are BIGINT 0/1, timestamps are BIGINT unix milliseconds, JSON is
-- TEXT. Both backends run this same file (`src/store/migrate.rs`).

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    is_byoc BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

INSERT INTO teams (id, name, slug, is_byoc, created_at)
VALUES ('team-0000000000000000000000000', 'Platform', 'platform', 0, 0);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    is_admin BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    created_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id),
    address TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    -- The status a host had before its last status write, so a heartbeat
    -- can tell in one statement whether it brought the host back.
    previous_status TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    cpu_cores BIGINT NOT NULL DEFAULT 0,
    memory_mb BIGINT NOT NULL DEFAULT 0,
    disk_mb BIGINT NOT NULL DEFAULT 0,
    reserved_vcpus BIGINT NOT NULL DEFAULT 0,
    reserved_memory_mb BIGINT NOT NULL DEFAULT 0,
    reserved_disk_mb BIGINT NOT NULL DEFAULT 0,
    last_heartbeat_at BIGINT,
    cert_fingerprint TEXT NOT NULL DEFAULT '',
    cert_expires_at BIGINT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX hosts_status ON hosts (status);
CREATE INDEX hosts_team ON hosts (team_id);

CREATE TABLE host_tags (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (host_id, tag)
);
CREATE INDEX host_tags_tag ON host_tags (tag);

CREATE TABLE host_registration_tokens (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX host_registration_tokens_host ON host_registration_tokens (host_id);

CREATE TABLE host_refresh_tokens (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX host_refresh_tokens_host ON host_refresh_tokens (host_id);

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    vcpus BIGINT NOT NULL,
    memory_mb BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    default_user TEXT NOT NULL DEFAULT 'root',
    default_env TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE capsules (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id),
    host_id TEXT NOT NULL,
    template TEXT NOT NULL,
    template_id TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    vcpus BIGINT NOT NULL,
    memory_mb BIGINT NOT NULL,
    disk_mb BIGINT NOT NULL,
    timeout_sec BIGINT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    host_ip TEXT NOT NULL DEFAULT '',
    public BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    last_active_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX capsules_team ON capsules (team_id);
CREATE INDEX capsules_host_status ON capsules (host_id, status);
CREATE INDEX capsules_status ON capsules (status);

CREATE TABLE capsule_metric_points (
    capsule_id TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('10m', '2h', '24h')),
    ts BIGINT NOT NULL,
    cpu_pct DOUBLE PRECISION NOT NULL,
    mem_bytes BIGINT NOT NULL,
    disk_bytes BIGINT NOT NULL,
    PRIMARY KEY (capsule_id, tier, ts)
);

CREATE TABLE audit_logs (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL DEFAULT '',
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    action TEXT NOT NULL,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_logs_team_time ON audit_logs (team_id, created_at, id);
