"""Callback, action and block ids of the CRM surfaces, shared with their handlers."""

from __future__ import annotations

# Callback and action ids (the shortcut ids are also in manifest.yml).
MESSAGE_SHORTCUT = "log_interaction_message"
GLOBAL_SHORTCUT = "log_interaction_global"
FORM_CALLBACK = "crm_log_form"
LOADING_CALLBACK = "crm_log_loading"
LIST_CALLBACK = "crm_list"
NOTE_CALLBACK = "crm_note"
ORG_ACTION = "crm_org"
CONTACTS_ACTION = "crm_contacts"
LOG_FOR_ORG = "crm_log_for_org"
NOTE_FOR_ORG = "crm_note_for_org"
SHOW_CARD = "crm_show_card"
PICK_CARD = "crm_pick_card"
PICK_LOG_ORG = "crm_pick_log_org"
SHOW_ALL_CONTACTS = "crm_all_contacts"
SHOW_ALL_LOGS = "crm_all_logs"
SHOW_ALL_FOLLOWUPS = "crm_all_followups"
SHOW_NOTE = "crm_show_note"
LIST_PAGE = "crm_list_page"

# Form fields: block ids double as the keys of response_action errors.
ORG_BLOCK = "org"
CONTACTS_BLOCK = "contacts"
KIND_BLOCK = "kind"
DATE_BLOCK = "date"
NOTE_BLOCK = "note"
FOLLOWUP_BLOCK = "followup"
VISIBILITY_BLOCK = "visibility"
