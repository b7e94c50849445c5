-- People, their addresses, organisations and the metadata of interactions.
-- Metadata only: no message bodies and no subjects are ever stored.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Lower-cased, punctuation-free name used for lookups; kept in step with name.
    name_key    TEXT NOT NULL,
    renamed     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX organisations_name_key ON organisations(name_key);

CREATE TABLE org_domains (
    domain  TEXT PRIMARY KEY,          -- registrable domain, lower case
    org_id  INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE
);
CREATE INDEX org_domains_org ON org_domains(org_id);

CREATE TABLE people (
    id             INTEGER PRIMARY KEY,
    display_name   TEXT NOT NULL DEFAULT '',
    is_colleague   INTEGER NOT NULL DEFAULT 0,
    org_id         INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
    slack_user_id  TEXT UNIQUE,
    slack_team_id  TEXT,
    is_bot         INTEGER NOT NULL DEFAULT 0,
    is_deleted     INTEGER NOT NULL DEFAULT 0,
    tz             TEXT,
    opted_out      INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);
CREATE INDEX people_org ON people(org_id);

CREATE TABLE email_addresses (
    -- Lower case with any +tag dropped: the identity key.
    address_key  TEXT PRIMARY KEY,
    -- The spelling first seen, kept for display.
    display      TEXT NOT NULL,
    domain       TEXT NOT NULL,
    person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE
);
CREATE INDEX email_addresses_person ON email_addresses(person_id);
CREATE INDEX email_addresses_domain ON email_addresses(domain);

CREATE TABLE interactions (
    id                 INTEGER PRIMARY KEY,
    source             TEXT NOT NULL,   -- mbox, maildir, slack-export, slack, gmail, calendar, log
    occurred_at        TEXT NOT NULL,   -- ISO 8601, UTC
    kind               TEXT NOT NULL,   -- email, slack, meeting, logged
    channel            TEXT,            -- Slack channel id, mailbox, calendar id
    sender_id          INTEGER REFERENCES people(id) ON DELETE SET NULL,
    participant_count  INTEGER NOT NULL
);
CREATE INDEX interactions_time ON interactions(occurred_at);

-- Every way one interaction can be recognised again (Message-ID, a header
-- fingerprint, a Slack ts, a calendar event id): a new copy that matches any
-- key is the same interaction.
-- Keys are stored as 64-bit hashes (storage/interactions.py): a million
-- messages carry two keys each, and short integer keys keep this index small
-- enough to stay in the page cache during an import.
CREATE TABLE interaction_keys (
    key_hash        INTEGER PRIMARY KEY,
    interaction_id  INTEGER NOT NULL REFERENCES interactions(id) ON DELETE CASCADE
);
CREATE INDEX interaction_keys_interaction ON interaction_keys(interaction_id);

CREATE TABLE interaction_participants (
    interaction_id  INTEGER NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,     -- from, to, cc, member, mention, reply, attendee, organizer
    PRIMARY KEY (interaction_id, person_id)
) WITHOUT ROWID;
CREATE INDEX interaction_participants_person ON interaction_participants(person_id);

CREATE TABLE sync_state (
    source      TEXT NOT NULL,
    scope       TEXT NOT NULL,          -- channel id, mailbox, file path
    cursor      TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (source, scope)
);

CREATE TABLE import_runs (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    target       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    imported     INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    automated    INTEGER NOT NULL DEFAULT 0,
    bad          INTEGER NOT NULL DEFAULT 0,
    details      TEXT
);
