-- Gmail and Google Calendar capture state. Cursors themselves (a mailbox's
-- historyId, a calendar's syncToken) live in sync_state under the sources
-- "gmail" and "calendar", scope = the mailbox address.

-- A first (or re-started) Gmail sync in progress: where the listing stands,
-- so a crash resumes the listing instead of starting it over.
CREATE TABLE gmail_full_syncs (
    mailbox       TEXT PRIMARY KEY,
    -- The mailbox historyId taken before listing: history.list takes over
    -- from here once every listed message is stored.
    history_id    TEXT NOT NULL,
    page_token    TEXT,
    listed        INTEGER NOT NULL DEFAULT 0,
    -- ISO 8601 UTC: a message received before this ends the listing.
    floor         TEXT NOT NULL,
    listing_done  INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT NOT NULL
);

-- Message ids listed but not yet stored. A row leaves only once the message
-- is committed (or is known to be gone), so nothing listed is ever lost.
CREATE TABLE gmail_pending (
    mailbox     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    -- The history record that announced it; NULL when a full listing did.
    -- The history cursor never moves past the lowest of these.
    history_id  INTEGER,
    -- Runs that ended with this message still failing.
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox, message_id)
) WITHOUT ROWID;

-- Confirmed meetings that have not started yet. Incremental calendar sync
-- reports an event only when it changes, so a future meeting is kept here and
-- becomes an interaction once it has taken place. Attendee emails and answers
-- only: never titles, descriptions or locations.
CREATE TABLE calendar_upcoming (
    calendar     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    meeting_key  TEXT NOT NULL,
    starts_at    TEXT NOT NULL,   -- ISO 8601 UTC
    organizer    TEXT,
    attendees    TEXT NOT NULL,   -- JSON list of [email, responseStatus, is_resource]
    PRIMARY KEY (calendar, event_id)
) WITHOUT ROWID;
CREATE INDEX calendar_upcoming_start ON calendar_upcoming(starts_at);

-- Colleagues whose mailbox or calendar could not be read because access was
-- revoked or never granted; cleared by their next successful sync.
CREATE TABLE google_problem_users (
    mailbox        TEXT NOT NULL,
    api            TEXT NOT NULL,   -- gmail, calendar
    reason         TEXT NOT NULL,   -- invalid_grant, unauthorized_client, ...
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    PRIMARY KEY (mailbox, api)
);
