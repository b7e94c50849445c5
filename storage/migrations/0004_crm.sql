-- The CRM half: interactions and notes people log from Slack, their follow-ups,
-- and the drafts behind open modals. Unlike captured metadata, a logged note is
-- text a person chose to write down, so it is stored as written.

CREATE TABLE logged_interactions (
    id              INTEGER PRIMARY KEY,
    -- The graph's view of the same event (kind 'logged'), gone if an opt-out
    -- leaves it with fewer than two participants.
    interaction_id  INTEGER REFERENCES interactions(id) ON DELETE SET NULL,
    org_id          INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
    logger_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,        -- call, meeting, email, note, other
    occurred_at     TEXT NOT NULL,        -- ISO 8601, UTC
    note            TEXT NOT NULL DEFAULT '',
    permalink       TEXT,
    visibility      TEXT NOT NULL DEFAULT 'team'
                    CHECK (visibility IN ('team', 'private')),
    -- One per submitted form or command: a second delivery finds it and stops.
    client_token    TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL
);
CREATE INDEX logged_interactions_org ON logged_interactions(org_id, occurred_at);
CREATE INDEX logged_interactions_logger ON logged_interactions(logger_id, occurred_at);

CREATE TABLE logged_contacts (
    logged_id  INTEGER NOT NULL REFERENCES logged_interactions(id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (logged_id, person_id)
) WITHOUT ROWID;
CREATE INDEX logged_contacts_person ON logged_contacts(person_id);

CREATE TABLE followups (
    id             INTEGER PRIMARY KEY,
    logged_id      INTEGER NOT NULL REFERENCES logged_interactions(id) ON DELETE CASCADE,
    due_on         TEXT NOT NULL,        -- YYYY-MM-DD, as picked
    snoozed_until  TEXT,                 -- YYYY-MM-DD, replaces due_on when set
    done_at        TEXT,
    done_by        INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX followups_open ON followups(done_at, due_on);
CREATE INDEX followups_logged ON followups(logged_id);

-- What an open modal needs on submission (message text, candidate contacts,
-- permalink) lives here: private_metadata only carries the draft id.
CREATE TABLE modal_drafts (
    id            TEXT PRIMARY KEY,
    slack_user_id TEXT NOT NULL,
    data          TEXT NOT NULL,          -- JSON
    client_token  TEXT NOT NULL UNIQUE,
    logged_id     INTEGER REFERENCES logged_interactions(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX modal_drafts_created ON modal_drafts(created_at);
