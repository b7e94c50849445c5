"""The CRM half: log interactions and notes, account cards, the App Home's data.

Plain async functions over `Services`; the Slack handlers parse payloads into
the values these take and turn the results into Block Kit. Slack Web API calls
these need (a user's profile, a message permalink) come in as callables, so
everything here runs in tests without Slack.

The package is cut by what each module holds: `errors` (the expected
failures), `people` (Slack users as people), `forms` (the log form, its checks
and drafts), `logbook` (logging an interaction, finding organisations and
contacts), `cards` (account cards) and `home` (the App Home). Everything the
handlers and other modules use is re-exported here, so `crm.<name>` works.
"""

from __future__ import annotations

from bot.crm.cards import (
    AccountCard,
    ContactLine,
    account_card,
    card_contacts,
    logged_note,
    org_contacts,
    org_followups,
    org_logs_page,
)
from bot.crm.errors import CrmError, OrganisationNotFound
from bot.crm.forms import (
    DATE_SLACK,
    LOOKUP_HOOK,
    MAX_PRESELECTED,
    NOTE_MAX,
    FormValues,
    Permalink,
    check_form,
    draft_for_form,
    draft_from_message,
    mentioned_users,
    parse_day,
    parse_log_command,
    validate_form,
)
from bot.crm.home import (
    HOME_FOLLOWUP_DAYS,
    HomeData,
    StrongContact,
    complete_followup,
    home_data,
    snooze_followup,
    strongest_contacts,
)
from bot.crm.logbook import (
    ORG_NAME_MAX,
    LogResult,
    log_interaction,
    resolve_organisation,
    search_contacts,
    search_organisations,
)
from bot.crm.people import (
    MAX_CANDIDATES,
    USERS_INFO_CONCURRENCY,
    UsersInfo,
    person_for_slack_user,
    viewer_person_id,
)
from storage.sql import parse_row_id

__all__ = [
    "DATE_SLACK",
    "HOME_FOLLOWUP_DAYS",
    "LOOKUP_HOOK",
    "MAX_CANDIDATES",
    "MAX_PRESELECTED",
    "NOTE_MAX",
    "ORG_NAME_MAX",
    "USERS_INFO_CONCURRENCY",
    "AccountCard",
    "ContactLine",
    "CrmError",
    "FormValues",
    "HomeData",
    "LogResult",
    "OrganisationNotFound",
    "Permalink",
    "StrongContact",
    "UsersInfo",
    "account_card",
    "card_contacts",
    "check_form",
    "complete_followup",
    "draft_for_form",
    "draft_from_message",
    "home_data",
    "log_interaction",
    "logged_note",
    "mentioned_users",
    "org_contacts",
    "org_followups",
    "org_logs_page",
    "parse_day",
    "parse_log_command",
    "parse_row_id",
    "person_for_slack_user",
    "resolve_organisation",
    "search_contacts",
    "search_organisations",
    "snooze_followup",
    "strongest_contacts",
    "validate_form",
    "viewer_person_id",
]
