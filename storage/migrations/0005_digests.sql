-- Scheduled messages (digests, follow-up reminders): who wants them, what was
-- sent, and the leases that keep one capture run at a time.

-- A row exists only once a person has said on or off; no row means on.
CREATE TABLE digest_preferences (
    person_id   INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- One row per message Rapport means to send, claimed before posting. The
-- unique key is what makes a send happen once: a second process (or a retried
-- tick) finds the row and skips.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,     -- digest, channel_digest, reminder
    target           TEXT NOT NULL,     -- person:<id> or channel:<id>
    period           TEXT NOT NULL,     -- week start date, or followup:<id>:<due date>
    -- claimed (posting now), sent, skipped (refused for good), retry (try
    -- again from next_attempt_at), unknown (the post may or may not have landed)
    status           TEXT NOT NULL,
    owner            TEXT NOT NULL,     -- the process that claimed it last
    due_at           TEXT NOT NULL,     -- ISO 8601 UTC: when it was meant to arrive
    claimed_at       TEXT NOT NULL,
    finished_at      TEXT,
    attempts         INTEGER NOT NULL DEFAULT 1,
    next_attempt_at  TEXT,
    error            TEXT,              -- Slack error code, never message text
    slack_channel    TEXT,              -- where the message landed
    slack_ts         TEXT,
    UNIQUE (kind, target, period)
);
CREATE INDEX deliveries_status ON deliveries(status, next_attempt_at);

-- A failing destination is reported to admins once per (target, error); the
-- row goes when a later send to the same target succeeds.
CREATE TABLE delivery_alerts (
    target       TEXT NOT NULL,
    error        TEXT NOT NULL,
    reported_at  TEXT NOT NULL,
    PRIMARY KEY (target, error)
) WITHOUT ROWID;

-- Named leases shared by every process on this database (one capture at a time).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
