-- The host that holds a snapshot's files (snapshots live where they were
-- taken); NULL for base templates, which every host builds itself.
-- Capsules from a snapshot are placed on that host only.
ALTER TABLE templates ADD COLUMN host_id TEXT;
