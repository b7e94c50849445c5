-- Slack capture: which Slack accounts belong to which person, what is known of
-- the other organisations' workspaces (Slack Connect), and how far each
-- thread has been read. Metadata only: no message text is ever stored.

-- Every Slack account mapped to its person. people.slack_user_id holds the
-- first account seen; a second account with the same email (another
-- workspace of a grid, a re-created account) maps here to the same person.
CREATE TABLE slack_users (
    slack_user_id  TEXT PRIMARY KEY,
    team_id        TEXT,
    person_id      INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX slack_users_person ON slack_users(person_id);

-- Workspaces of other organisations met through Slack Connect (team.info),
-- and the organisation they stand for.
CREATE TABLE slack_teams (
    team_id       TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    email_domain  TEXT,
    org_id        INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
    updated_at    TEXT NOT NULL
);

-- The newest reply read per thread: an unchanged thread is not fetched again.
CREATE TABLE slack_threads (
    channel_id    TEXT NOT NULL,
    thread_ts     TEXT NOT NULL,
    latest_reply  TEXT NOT NULL,
    PRIMARY KEY (channel_id, thread_ts)
) WITHOUT ROWID;
