-- linkgate audit store (D1 binding LINKGATE_AUDIT).
-- Apply: wrangler d1 migrations apply LINKGATE_AUDIT [--local]

CREATE TABLE IF NOT EXISTS events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  time        INTEGER NOT NULL,
  request_id  TEXT NOT NULL,
  method      TEXT,
  jti         TEXT,
  kid         TEXT,
  sub         TEXT,
  tenant      TEXT,
  path        TEXT,
  outcome     TEXT,
  status      INTEGER,
  code        TEXT,
  reason      TEXT,
  rule        TEXT,
  mode        TEXT,
  bytes       INTEGER,
  cache       TEXT,
  client_ip   TEXT,
  country     TEXT,
  user_agent  TEXT,
  issued_by   TEXT
);
CREATE INDEX IF NOT EXISTS events_time   ON events (time DESC, id DESC);
CREATE INDEX IF NOT EXISTS events_jti    ON events (jti, time DESC);
CREATE INDEX IF NOT EXISTS events_sub    ON events (sub, time DESC);
CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant, time DESC);
CREATE INDEX IF NOT EXISTS events_path   ON events (path, time DESC);

-- Links minted at the edge (admin API); events of other jtis were issued offline.
CREATE TABLE IF NOT EXISTS links (
  jti         TEXT PRIMARY KEY,
  issued_at   INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  scope       TEXT NOT NULL,
  sub         TEXT,
  tenant      TEXT,
  issued_by   TEXT NOT NULL
);
