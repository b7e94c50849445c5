"""Expected CRM failures, each with a code the blocks module turns into words."""

from __future__ import annotations

from bot.queries import Match


class CrmError(Exception):
    """An expected failure with a code the blocks module turns into words."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class OrganisationNotFound(CrmError):
    """A name that matches no organisation, or several: the choices come back."""

    def __init__(self, query: str, choices: tuple[Match, ...] = ()) -> None:
        super().__init__("org_ambiguous" if len(choices) > 1 else "org_unknown")
        self.query = query
        self.choices = choices
