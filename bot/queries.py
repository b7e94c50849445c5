"""Answering "who knows X?" from the graph: lookup, ranking and explanation."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rapidfuzz import fuzz, process

from bot.graph import RelationshipGraph
from bot.identity.addresses import address_key, domain_of
from bot.identity.organisations import name_key, organisation_domain
from bot.scoring import PairStats, explain, to_score

# A fuzzy match at or above this is taken; below it only offered as a hint.
MATCH_CUTOFF = 86.0
# Two candidates this close to each other are both offered instead of a guess.
AMBIGUITY_MARGIN = 4.0
HINT_CUTOFF = 55.0
# Below this a "closest name" is noise, not help.
SUGGESTION_CUTOFF = 40.0

COLLEAGUE_NOTE = (
    "{query} belongs to a colleague. Rapport ranks who knows people and "
    "organisations outside the firm."
)
FIRM_NOTE = "{domain} is the firm's own domain; ask about an outside organisation."
EMPTY_NOTE = (
    "There is nothing to look up: type a company, a domain, an address or a name."
)


@dataclass(frozen=True, slots=True)
class Match:
    kind: str  # "organisation" | "person"
    id: int
    name: str
    domains: tuple[str, ...] = ()
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str | None
    score: float


@dataclass(frozen=True, slots=True)
class Colleague:
    person_id: int
    name: str
    email: str | None
    slack_user_id: str | None
    score: float
    explanation: str
    last_contact: datetime | None
    contacts: tuple[Contact, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """One of three outcomes: a ranking, a choice to make, or nothing found."""

    query: str
    match: Match | None = None
    people: tuple[Colleague, ...] = ()
    choices: tuple[Match, ...] = ()
    suggestions: tuple[str, ...] = ()
    # Why there is no answer when it is not a spelling problem (a colleague's
    # own address, the firm's domain, nothing to look up).
    note: str = ""

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "match": None
            if self.match is None
            else {
                "kind": self.match.kind,
                "name": self.match.name,
                "domains": list(self.match.domains),
            },
            "people": [
                {
                    "name": c.name,
                    "email": c.email,
                    "score": round(c.score, 1),
                    "explanation": c.explanation,
                    "last_contact": c.last_contact.isoformat()
                    if c.last_contact
                    else None,
                    "contacts": [
                        {"name": k.name, "email": k.email, "score": round(k.score, 1)}
                        for k in c.contacts
                    ],
                }
                for c in self.people
            ],
            "choices": [
                {
                    "kind": m.kind,
                    "name": m.name,
                    "domains": list(m.domains),
                    "email": m.email,
                }
                for m in self.choices
            ],
            "suggestions": list(self.suggestions),
            "note": self.note,
        }


@dataclass(slots=True)
class NameIndex:
    """Everything a query may name, keyed for exact, prefix and fuzzy lookup.

    `keys[i]` names `matches[i]`; an organisation may have several keys (its
    name and its domain labels). The other fields are views built once by
    `build_index` so a query never scans every key in Python.
    """

    keys: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    by_domain: dict[str, Match] = field(default_factory=dict)
    by_email: dict[str, Match] = field(default_factory=dict)
    exact: dict[str, list[Match]] = field(default_factory=dict)
    sorted_keys: list[str] = field(default_factory=list)
    org_positions: list[int] = field(default_factory=list)
    person_positions: list[int] = field(default_factory=list)
    org_keys: list[str] = field(default_factory=list)
    person_keys: list[str] = field(default_factory=list)
    colleague_emails: set[str] = field(default_factory=set)
    firm_domains: set[str] = field(default_factory=set)

    def add(self, key: str, match: Match) -> None:
        self.keys.append(key)
        self.matches.append(match)

    def finish(self) -> NameIndex:
        for position, (key, match) in enumerate(
            zip(self.keys, self.matches, strict=True)
        ):
            self.exact.setdefault(key, []).append(match)
            if match.kind == "organisation":
                self.org_positions.append(position)
            else:
                self.person_positions.append(position)
        self.sorted_keys = sorted(self.exact)
        self.org_keys = [self.keys[p] for p in self.org_positions]
        self.person_keys = [self.keys[p] for p in self.person_positions]
        return self

    def starting_with(self, prefix: str, *, most: int) -> set[Match]:
        """Matches whose key starts with `prefix`, stopping past `most`."""
        found: set[Match] = set()
        at = bisect.bisect_left(self.sorted_keys, prefix)
        while at < len(self.sorted_keys) and self.sorted_keys[at].startswith(prefix):
            found.update(self.exact[self.sorted_keys[at]])
            if len(found) > most:
                break
            at += 1
        return found

    def fuzzy(
        self, text: str, *, limit: int, cutoff: float
    ) -> list[tuple[Match, float]]:
        """Near spellings, best first; one plain edit-distance ratio keeps it fast."""
        best: dict[Match, float] = {}
        for keys, positions in (
            (self.org_keys, self.org_positions),
            (self.person_keys, self.person_positions),
        ):
            for _, score, i in process.extract(
                text, keys, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff
            ):
                match = self.matches[positions[i]]
                best[match] = max(best.get(match, 0.0), score)
        return sorted(best.items(), key=lambda item: (-item[1], item[0].name))


def build_index(graph: RelationshipGraph) -> NameIndex:
    index = NameIndex()
    for org in graph.orgs.values():
        match = Match("organisation", org.id, org.name, org.domains)
        key = name_key(org.name)
        index.add(key, match)
        for domain in org.domains:
            index.by_domain[domain] = match
            # "Bank of America" must find bankofamerica.com even before anyone
            # renames the organisation from its domain.
            label = domain.split(".")[0]
            if label != key:
                index.add(label, match)
    for person in graph.people.values():
        key = address_key(person.email) if person.email else None
        if person.is_colleague:
            if key:
                index.colleague_emails.add(key)
                index.firm_domains.add(organisation_domain(domain_of(key)) or "")
            continue
        match = Match("person", person.id, person.name, email=person.email)
        if person.name:
            index.add(_person_key(person.name), match)
            # "Lafontaine, Steve" is asked for as "Steve Lafontaine".
            last, comma, first = person.name.partition(",")
            if comma and first.strip() and "," not in first:
                index.add(_person_key(f"{first} {last}"), match)
        if person.email:
            index.by_email[key or person.email.lower()] = match
    index.firm_domains.discard("")
    return index.finish()


def who_knows(
    graph: RelationshipGraph,
    index: NameIndex,
    query: str,
    *,
    limit: int = 5,
) -> Answer:
    """Rank the colleagues closest to whatever `query` names."""
    query = " ".join(query.split())
    if not query:
        return Answer(query)
    found = _lookup(index, query)
    if isinstance(found, Answer):
        return found
    if found.kind == "organisation":
        people = _rank_for_org(graph, found.id, limit)
    else:
        people = _rank_for_person(graph, found.id, limit)
    return Answer(query, match=found, people=tuple(people))


def _lookup(index: NameIndex, query: str) -> Match | Answer:
    lowered = query.lower()
    if "@" in lowered:
        key = address_key(lowered)
        if key and key in index.by_email:
            return index.by_email[key]
        if key in index.colleague_emails:
            return Answer(query, note=COLLEAGUE_NOTE.format(query=query))
        if key:
            lowered = domain_of(key)
    if re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", lowered):
        org_domain = organisation_domain(lowered) or lowered
        for candidate in (lowered, org_domain):
            if candidate in index.by_domain:
                return index.by_domain[candidate]
        if org_domain in index.firm_domains:
            return Answer(query, note=FIRM_NOTE.format(domain=org_domain))

    wanted = name_key(query) if "@" not in query else name_key(lowered.split(".")[0])
    person_key = _person_key(query)
    if not wanted and not person_key.replace(" ", ""):
        return Answer(query, note=EMPTY_NOTE)
    exact = set(index.exact.get(wanted, ()))
    exact |= {m for m in index.exact.get(person_key, ()) if m.kind == "person"}
    if len(exact) == 1:
        return exact.pop()
    if len(exact) > 1:
        return Answer(query, choices=tuple(sorted(exact, key=lambda m: m.name))[:10])

    # A query that starts exactly one name is that name ("acme rock" is Acme
    # Rockets, not Acme); one that starts several is a choice to offer.
    if len(wanted) >= 3:
        prefixed = index.starting_with(wanted, most=10)
        if len(prefixed) == 1:
            return prefixed.pop()
        if 1 < len(prefixed) <= 10:
            return Answer(query, choices=tuple(sorted(prefixed, key=lambda m: m.name)))

    text = wanted or person_key
    ranked = index.fuzzy(text, limit=20, cutoff=HINT_CUTOFF)
    if ranked and ranked[0][1] >= MATCH_CUTOFF:
        top_score = ranked[0][1]
        close = [m for m, s in ranked if top_score - s < AMBIGUITY_MARGIN]
        if len(close) == 1:
            return close[0]
        return Answer(query, choices=tuple(close[:10]))
    if not ranked:
        # Nothing close: still name the nearest few so the user has somewhere to go.
        ranked = index.fuzzy(text, limit=5, cutoff=SUGGESTION_CUTOFF)
    names = dict.fromkeys(m.name for m, _ in ranked)
    return Answer(query, suggestions=tuple(names)[:5])


def _rank_for_org(graph: RelationshipGraph, org_id: int, limit: int) -> list[Colleague]:
    config = graph.config
    per_colleague: dict[int, list[tuple[int, PairStats]]] = {}
    for contact in graph.contacts_of_org(org_id):
        for colleague, stats in graph.colleagues_of(contact):
            per_colleague.setdefault(colleague, []).append((contact, stats))
    ranked = []
    for colleague, links in per_colleague.items():
        total = PairStats()
        for _, stats in links:
            total.add(stats)
        ranked.append(
            (to_score(total.effective(config), config), total, colleague, links)
        )
    ranked.sort(key=lambda item: (-item[0], -item[1].last, item[2]))
    return [
        _colleague(graph, colleague, score, total, links, people=len(links))
        for score, total, colleague, links in ranked[:limit]
    ]


def _rank_for_person(
    graph: RelationshipGraph, contact: int, limit: int
) -> list[Colleague]:
    config = graph.config
    ranked = [
        (to_score(stats.effective(config), config), stats, colleague)
        for colleague, stats in graph.colleagues_of(contact)
    ]
    ranked.sort(key=lambda item: (-item[0], -item[1].last, item[2]))
    return [
        _colleague(graph, colleague, score, stats, [(contact, stats)], people=None)
        for score, stats, colleague in ranked[:limit]
    ]


def _colleague(graph, colleague, score, total, links, *, people) -> Colleague:
    config = graph.config
    person = graph.people[colleague]
    contacts = sorted(
        (
            Contact(
                graph.people[c].name,
                graph.people[c].email,
                to_score(s.effective(config), config),
            )
            for c, s in links
        ),
        key=lambda k: (-k.score, k.name),
    )
    return Colleague(
        person_id=colleague,
        name=person.name,
        email=person.email,
        slack_user_id=person.slack_user_id,
        score=score,
        explanation=explain(total, people=people),
        last_contact=datetime.fromtimestamp(total.last, UTC) if total.last else None,
        contacts=tuple(contacts[:3]),
    )


def _person_key(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s]+", " ", name.lower()).split())


# Public entry points for other surfaces (the CRM's /log, /client and selects):
# the same matching as who_knows, so a name finds the same thing everywhere.


def lookup(index: NameIndex, query: str) -> Match | Answer:
    """What `query` names: one match, or an Answer with choices or suggestions."""
    query = " ".join(query.split())
    if not query:
        return Answer(query)
    return _lookup(index, query)


def search_names(
    index: NameIndex, text: str, *, kind: str | None = None, limit: int = 20
) -> list[Match]:
    """Type-ahead: matches for partial `text`, prefix hits first, then fuzzy ones."""
    wanted = name_key(text) if kind == "organisation" else _person_key(text)

    def fits(match: Match) -> bool:
        return kind is None or match.kind == kind

    if not wanted:
        everyone = {m for m in index.matches if fits(m)}
        return sorted(everyone, key=lambda m: m.name.lower())[:limit]
    results = {m: 200.0 for m in index.starting_with(wanted, most=limit * 4) if fits(m)}
    if len(results) < limit:
        for match, score in index.fuzzy(wanted, limit=limit * 4, cutoff=HINT_CUTOFF):
            if fits(match):
                results[match] = max(results.get(match, 0.0), score)
    ranked = sorted(results.items(), key=lambda item: (-item[1], item[0].name.lower()))
    return [match for match, _ in ranked[:limit]]


def rank_colleagues_for_org(
    graph: RelationshipGraph, org_id: int, *, limit: int = 5
) -> list[Colleague]:
    """The colleagues closest to an organisation, ranked as who_knows ranks them."""
    return _rank_for_org(graph, org_id, limit)
