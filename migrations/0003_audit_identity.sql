-- Links for one person (docs/identity.md): the verified identity behind a
-- download decision (the configured claim of an assertion whose signature
-- verified, whether it opened the link or not). Never the assertion itself.
ALTER TABLE events ADD COLUMN identity TEXT;
CREATE INDEX IF NOT EXISTS events_identity ON events (identity, time DESC);
