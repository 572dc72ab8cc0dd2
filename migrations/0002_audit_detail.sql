-- Aggregated refusals and complete admin events (issue: an audit trail nobody
-- can flood or thin out).
--   count    how many requests an aggregated event stands for (NULL = one)
--   actor    who made an admin call (from the credential, never free text)
--   subject  what an admin call acted on: "jti:<hex>", "path:/a/", "file:/a/b.pdf"
--   detail   JSON of the rest: the revocation's reason, old/new classification, ...
ALTER TABLE events ADD COLUMN count INTEGER;
ALTER TABLE events ADD COLUMN actor TEXT;
ALTER TABLE events ADD COLUMN subject TEXT;
ALTER TABLE events ADD COLUMN detail TEXT;
CREATE INDEX IF NOT EXISTS events_actor ON events (actor, time DESC);
