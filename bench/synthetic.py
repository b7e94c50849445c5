"""A synthetic firm's mail as one mbox, for the speed benchmark.

Everything is drawn from one seed, so the same arguments always give the same
bytes. The population (colleagues, outside contacts, organisations) is held in
memory; messages are written as they are drawn, so memory does not grow with
the message count.

The shape aims at what makes real mail expensive or tricky to import:

- Gmail-Takeout-like header blocks (envelope "From " line, Received, X-Gmail-*,
  MIME headers), display names with quoted commas, RFC 2047 and raw UTF-8
  names, "addr (Name)" comments, upper-case and +tag spellings of addresses;
- Date in RFC 2822 with varied zones (numeric, with a zone comment, GMT,
  -0000, no weekday, unpadded day);
- who writes to whom is skewed: colleague activity, organisation sizes and
  each colleague's preferred contacts follow Zipf-like weights, and about one
  message in eight is a reply to a recent one (reciprocity);
- a little automated mail (List-Id newsletters, no-reply notifications,
  auto-replies), a few exact copies filed under new Message-IDs, and a few
  announcements copied to hundreds of people;
- organisations on a few thousand domains, with multi-label public suffixes
  (.co.uk, .com.au, .co.jp, .ac.uk), second domains and mail subdomains, plus
  free-mail senders.

Bodies are one to three short made-up sentences; nothing here comes from real
mail.
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import random
import time
import unicodedata
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

INTERNAL_DOMAIN = "firm.example"
START = datetime(2022, 7, 1, tzinfo=UTC)
END = datetime(2024, 7, 1, tzinfo=UTC)
DEFAULT_SEED = 20240701

# Share of each message kind; what is left after these is internal mail.
_P_OUTBOUND = 0.25
_P_INBOUND = 0.20
_P_REPLY = 0.12
_P_AUTOMATED = 0.05
_P_DUPLICATE = 0.015
_P_BLAST = 0.015
# Share of outside mail that walks the contact list in order, so every
# contact shows up at least once however skewed the rest is.
_P_SWEEP = 0.2

_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
    "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa "
    "Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven "
    "Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian "
    "Melissa George Deborah Timothy Stephanie Ronald Rebecca Edward Sharon Jason Laura "
    "Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna "
    "Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon "
    "Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Frank "
    "Carolyn Patrick Janet Raymond Catherine Jack Maria Dennis Heather Priya Rahul "
    "Wei Mei Hiroshi Yuki Olga Dmitri Fatima Omar Aisha Kwame Ingrid Lars Sven Astrid "
    "Giulia Marco Sofia Luca Chloe Hugo Camille Louis Ana Pedro Lucia Mateo Nadia Ivan"
).split() + ["José", "Zoë", "Björn", "Renée", "François", "Søren", "Łukasz", "Iñaki"]
_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
    "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee "
    "Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young "
    "Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez "
    "Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell "
    "Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Fisher "
    "Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace West Cole Hayes Bryant Gibson Ellis Stevens Murray Ford "
    "Marshall Owens McDonald Harrison Kennedy Wells Chen Wang Zhang Li Liu Yamamoto "
    "Tanaka Suzuki Sato Ivanov Petrov Schmidt Schneider Fischer Weber Meyer Wagner "
    "Becker Hoffmann Rossi Russo Ferrari Esposito Bianchi Dubois Moreau Laurent "
    "Simon Michel Lefebvre Leroy Andersen Nielsen Hansen Larsen Kowalski Nowak "
    "Okafor Mensah Osei Haddad Khoury Shah Mehta Gupta Singh Kumar O'Brien"
).split() + ["Müller", "García", "Ødegaard", "Šimić", "Nuñez", "Côté", "Jäger"]

_ORG_PREFIX = (
    "North South East West Blue Red Green Silver Golden Iron Stone River Lake "
    "Harbour Summit Pine Oak Maple Cedar Bright Clear Swift Noble Royal Atlas "
    "Apex Vertex Nova Stellar Orion Titan Zenith Quantum Meridian Pioneer Frontier "
    "Liberty Heritage Crown Falcon Eagle Hawk Phoenix Lion Bear Wolf Fox Crest "
    "Beacon Anchor Compass Keystone Granite Copper Cobalt Amber Ivory Onyx"
).split()
_ORG_CORE = (
    "bridge field stone wood gate point view ridge brook vale haven port ford "
    "wick mont land way water light star line wave rock hill dale shore"
).split()
_ORG_SECTOR = (
    "Capital Partners Logistics Energy Systems Holdings Group Consulting Advisors "
    "Bank Insurance Pharma Foods Media Retail Analytics Software Engineering "
    "Materials Shipping Ventures Investments Labs Health Realty Telecom Motors "
    "Chemicals Securities Trust"
).split()
# (public suffix, weight, legal suffixes usual there)
_TLDS = (
    ("com", 52, ("Inc", "LLC", "Corp", "Inc.", "")),
    ("co.uk", 12, ("Ltd", "plc", "LLP", "Limited")),
    ("de", 6, ("GmbH", "AG")),
    ("com.au", 4, ("Pty Ltd",)),
    ("fr", 4, ("SA", "SAS")),
    ("io", 4, ("", "Inc")),
    ("net", 4, ("", "LLC")),
    ("org", 4, ("", "Foundation")),
    ("co.jp", 3, ("KK", "Co., Ltd.")),
    ("ac.uk", 2, ("",)),
    ("co.nz", 2, ("Ltd",)),
    ("nl", 2, ("BV", "NV")),
    ("ch", 1, ("AG", "SA")),
)
_FREE_MAIL = (
    ("gmail.com", 40), ("yahoo.com", 15), ("hotmail.com", 12), ("outlook.com", 10),
    ("aol.com", 6), ("icloud.com", 6), ("gmx.de", 4), ("yahoo.co.uk", 4),
    ("hotmail.co.uk", 3),
)  # fmt: skip
_SUBDOMAINS = ("mail", "uk", "us", "corp", "eu", "ny", "ldn")
# (minutes east of UTC, zone name for a comment)
_ZONES = (
    (-480, "PST"), (-420, "PDT"), (-360, "CST"), (-300, "EST"), (-240, "EDT"),
    (0, "GMT"), (60, "BST"), (60, "CET"), (120, "CEST"), (330, "IST"),
    (480, "SGT"), (540, "JST"), (600, "AEST"), (780, "NZDT"),
)  # fmt: skip
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct")
_MONTHS += ("Nov", "Dec")
_TOPICS = (
    "Q3 forecast", "Term sheet", "Board pack", "Catch-up", "Lunch next week",
    "Draft agreement", "Invoice", "Pricing", "Site visit", "Follow-up",
    "Introductions", "Renewal", "Proposal", "Due diligence", "Kick-off",
    "Budget", "Hiring", "Conference", "Quarterly review", "Contract redlines",
)  # fmt: skip
_SENTENCES = (
    "Thanks, see you then.", "Attached is the latest version.",
    "Can we move this to Thursday?", "Looping in the team.",
    "Happy to discuss on a call.", "Please find the figures below.",
    "Let me check and come back to you.", "Sounds good to me.",
    "Following up on our conversation.", "Will send the revised draft tomorrow.",
    "Noted, thank you.", "Could you confirm the numbers?",
)  # fmt: skip
_LABELS_IN = ("Inbox", "Inbox,Important", "Inbox,Category Updates", "Archived")
_LABELS_OUT = ("Sent", "Sent,Important")


@dataclass(frozen=True, slots=True)
class FirmSize:
    colleagues: int = 2000
    contacts: int = 50_000
    messages: int = 1_000_000
    seed: int = DEFAULT_SEED


@dataclass(slots=True)
class Person:
    name: str
    address: str
    # The From/To element is pre + address + post, so address spellings can vary.
    pre: str
    post: str
    offset: int  # minutes east of UTC
    zone_name: str
    date_style: int
    org: int  # index into Population.orgs; -1 for colleagues and free mail


@dataclass(slots=True)
class Org:
    name: str  # "Northbridge Capital Ltd"
    short: str  # "Northbridge Capital", what people type
    domains: list[str]


@dataclass(slots=True)
class Population:
    """People are numbered colleagues first (0..C-1), then contacts (C..)."""

    people: list[Person]
    colleagues: int
    orgs: list[Org]
    org_members: list[list[int]]  # person numbers per organisation
    books: list[list[int]]  # per colleague: contacts they write to, favourite first
    owners: dict[int, list[int]]  # per contact: colleagues who know them
    teams: list[list[int]]
    team_of: list[int]
    org_lead: list[int]
    activity: list[float]  # cumulative colleague weights

    def contact_numbers(self) -> range:
        return range(self.colleagues, len(self.people))


@dataclass(slots=True)
class Manifest:
    """What was written, for checks after the import."""

    colleagues: int
    contacts: int
    organisations: int
    org_domains: int
    seed: int
    messages: int = 0
    automated: int = 0
    duplicates: int = 0
    blasts: int = 0
    replies: int = 0
    internal: int = 0
    external: int = 0
    bytes: int = 0
    seconds: float = 0.0
    start: str = START.isoformat()
    end: str = END.isoformat()
    kinds: dict[str, int] = field(default_factory=dict)


def _cumulative(weights: list[float]) -> list[float]:
    total = 0.0
    result = []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def _pick(rng: random.Random, cumulative: list[float], size: int | None = None) -> int:
    """Index drawn by cumulative weights, optionally from the first `size` only."""
    top = cumulative[-1] if size is None else cumulative[size - 1]
    return bisect.bisect_right(cumulative, rng.random() * top)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("Ø", "O").replace("ø", "o"))
    folded = folded.replace("Ł", "L").replace("ł", "l")
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-_"))


def _q_encode(text: str) -> str:
    """RFC 2047 Q-encoding of a UTF-8 name."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char == " ":
            out.append("_")
        elif char.isascii() and char.isalnum():
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return "=?UTF-8?Q?" + "".join(out) + "?="


def _mailbox_parts(
    rng: random.Random, first: str, last: str, *, colleague: bool, org: str | None
) -> tuple[str, str]:
    name = f"{first} {last}"
    if not name.isascii():
        roll = rng.random()
        if roll < 0.6:
            return _q_encode(name) + " <", ">"
        if roll < 0.8:
            return name + " <", ">"  # raw UTF-8, as some mailers still send
        return f'"{name}" <', ">"
    roll = rng.random()
    if colleague:
        if roll < 0.4:
            return f'"{last}, {first}" <', ">"
        if roll < 0.9:
            return name + " <", ">"
        return "", ""
    if roll < 0.5:
        return name + " <", ">"
    if roll < 0.65:
        return f'"{last}, {first}" <', ">"
    if roll < 0.75:
        return f'"{name}" <', ">"
    if roll < 0.85:
        return "", ""
    if roll < 0.92 and org:
        return f'"{name} ({org})" <', ">"
    return "", f" ({name})"


def _local_part(rng: random.Random, first: str, last: str, *, free: bool) -> str:
    f, l_ = _ascii(first).lower(), _ascii(last).lower()
    if free:
        style = rng.random()
        if style < 0.4:
            return f"{f}.{l_}{rng.randint(1, 99)}"
        if style < 0.7:
            return f"{f}{l_}{rng.randint(1950, 2005)}"
        return f"{f[0]}{l_}{rng.randint(1, 999)}"
    style = rng.random()
    if style < 0.5:
        return f"{f}.{l_}"
    if style < 0.7:
        return f"{f[0]}{l_}"
    if style < 0.8:
        return f"{f}_{l_}"
    if style < 0.9:
        return f"{l_}.{f}"
    return f"{f}{l_[0]}"


def _zone(rng: random.Random, *, colleague: bool) -> tuple[int, str]:
    if colleague:
        return rng.choice(((-300, "EST"), (-240, "EDT"), (0, "GMT"), (60, "BST")))
    return rng.choice(_ZONES)


def _make_orgs(rng: random.Random, count: int) -> list[Org]:
    tld_cum = _cumulative([w for _, w, _ in _TLDS])
    used: set[str] = set()
    orgs = []
    for _ in range(count):
        brand = rng.choice(_ORG_PREFIX) + rng.choice(_ORG_CORE)
        sector = rng.choice(_ORG_SECTOR)
        tld, _, legal = _TLDS[_pick(rng, tld_cum)]
        suffix = rng.choice(legal)
        short = f"{brand} {sector}"
        roll = rng.random()
        if roll < 0.4:
            label = f"{brand}{sector}".lower()
        elif roll < 0.55:
            label = f"{brand}-{sector}".lower()
        elif roll < 0.85:
            label = brand.lower()
            short = brand if rng.random() < 0.5 else short
        elif roll < 0.9:
            label = (brand[0] + brand[len(brand) // 2] + sector[0]).lower()
        else:
            label = f"{brand}{sector[:3]}".lower()
        domain = f"{label}.{tld}"
        serial = 2
        while domain in used:
            domain = f"{label}{serial}.{tld}"
            serial += 1
        used.add(domain)
        domains = [domain]
        if rng.random() < 0.08:
            other = f"{label}.{'com' if tld != 'com' else 'co.uk'}"
            if other not in used:
                used.add(other)
                domains.append(other)
        name = f"{short} {suffix}".strip()
        orgs.append(Org(name=name, short=short, domains=domains))
    return orgs


def make_population(size: FirmSize) -> Population:
    """Colleagues, contacts and organisations, drawn from the seed."""
    rng = random.Random(size.seed)
    people: list[Person] = []
    taken: set[str] = set()

    def unique(local: str, domain: str) -> str:
        address = f"{local}@{domain}"
        serial = 2
        while address in taken:
            address = f"{local}{serial}@{domain}"
            serial += 1
        taken.add(address)
        return address

    for _ in range(size.colleagues):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        domain = INTERNAL_DOMAIN if rng.random() < 0.95 else "london." + INTERNAL_DOMAIN
        local = f"{_ascii(first).lower()}.{_ascii(last).lower()}"
        pre, post = _mailbox_parts(rng, first, last, colleague=True, org=None)
        offset, zone_name = _zone(rng, colleague=True)
        people.append(
            Person(
                f"{first} {last}", unique(local, domain), pre, post, offset,
                zone_name, rng.randrange(6), -1,
            )
        )  # fmt: skip

    org_count = max(3, round(size.contacts * 0.072))
    orgs = _make_orgs(rng, org_count)
    org_cum = _cumulative([1.0 / (rank + 6) for rank in range(org_count)])
    free_cum = _cumulative([w for _, w in _FREE_MAIL])
    org_members: list[list[int]] = [[] for _ in orgs]
    for n in range(size.contacts):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        free = n >= org_count and rng.random() < 0.09
        if free:
            org = -1
            domain = _FREE_MAIL[_pick(rng, free_cum)][0]
        else:
            # Every organisation gets one contact first, then sizes follow Zipf.
            org = n if n < org_count else _pick(rng, org_cum)
            domains = orgs[org].domains
            domain = (
                domains[1] if len(domains) > 1 and rng.random() < 0.3 else domains[0]
            )
            if len(org_members[org]) > 20 and rng.random() < 0.1:
                domain = f"{rng.choice(_SUBDOMAINS)}.{domain}"
        local = _local_part(rng, first, last, free=free)
        pre, post = _mailbox_parts(
            rng, first, last, colleague=False,
            org=None if org < 0 else orgs[org].short,
        )  # fmt: skip
        offset, zone_name = _zone(rng, colleague=False)
        number = len(people)
        people.append(
            Person(
                f"{first} {last}", unique(local, domain), pre, post, offset,
                zone_name, rng.randrange(6), org,
            )
        )  # fmt: skip
        if org >= 0:
            org_members[org].append(number)

    colleagues = size.colleagues
    ranks = list(range(colleagues))
    rng.shuffle(ranks)
    activity = _cumulative([1.0 / (rank + 3) ** 0.9 for rank in ranks])
    teams = [list(range(i, min(i + 10, colleagues))) for i in range(0, colleagues, 10)]
    team_of = [i // 10 for i in range(colleagues)]
    org_lead = [_pick(rng, activity) for _ in orgs]

    books: list[list[int]] = [[] for _ in range(colleagues)]
    owners: dict[int, list[int]] = {}
    for number in range(colleagues, len(people)):
        org = people[number].org
        first_owner = (
            org_lead[org] if org >= 0 and rng.random() < 0.5 else _pick(rng, activity)
        )
        mine = [first_owner]
        while rng.random() < 0.45 and len(mine) < 8:
            if rng.random() < 0.5:
                candidate = rng.choice(teams[team_of[first_owner]])
            else:
                candidate = _pick(rng, activity)
            if candidate not in mine:
                mine.append(candidate)
        owners[number] = mine
        for colleague in mine:
            books[colleague].append(number)
    for book in books:
        rng.shuffle(book)

    return Population(
        people=people,
        colleagues=colleagues,
        orgs=orgs,
        org_members=org_members,
        books=books,
        owners=owners,
        teams=teams,
        team_of=team_of,
        org_lead=org_lead,
        activity=activity,
    )


class _Writer:
    """Draws messages one by one and renders them into mbox text."""

    def __init__(self, population: Population, size: FirmSize) -> None:
        self.pop = population
        self.size = size
        self.rng = random.Random(size.seed + 1)
        self.people = population.people
        self.span = (END - START).total_seconds()
        self.start = START.timestamp()
        longest = max((len(b) for b in population.books), default=1) or 1
        self.book_cum = _cumulative([1.0 / (i + 1) ** 0.9 for i in range(longest)])
        self.recent: deque[tuple] = deque(maxlen=5000)
        self.sweep = 0
        self.last: dict | None = None
        self.out: list[str] = []
        self.manifest = Manifest(
            colleagues=population.colleagues,
            contacts=len(population.people) - population.colleagues,
            organisations=len(population.orgs),
            org_domains=sum(len(o.domains) for o in population.orgs),
            seed=size.seed,
        )

    # Choosing people -------------------------------------------------------

    def colleague(self) -> int:
        return _pick(self.rng, self.pop.activity)

    def teammate(self, colleague: int) -> int:
        team = self.pop.teams[self.pop.team_of[colleague]]
        if len(team) > 1 and self.rng.random() < 0.75:
            mate = self.rng.choice(team)
            if mate != colleague:
                return mate
        other = self.colleague()
        return other if other != colleague else (colleague + 1) % self.pop.colleagues

    def pair(self) -> tuple[int, int]:
        """A colleague and an outside contact they know."""
        rng = self.rng
        if rng.random() < _P_SWEEP:
            contact = self.pop.colleagues + self.sweep
            self.sweep = (self.sweep + 1) % (len(self.people) - self.pop.colleagues)
            return rng.choice(self.pop.owners[contact]), contact
        colleague = self.colleague()
        book = self.pop.books[colleague]
        if not book:
            contact = rng.randrange(self.pop.colleagues, len(self.people))
            return colleague, contact
        return colleague, book[_pick(rng, self.book_cum, len(book))]

    def org_peer(self, contact: int) -> int | None:
        org = self.people[contact].org
        if org < 0:
            return None
        members = self.pop.org_members[org]
        peer = self.rng.choice(members)
        return peer if peer != contact else None

    # Message kinds ---------------------------------------------------------

    def internal(self, when: float) -> None:
        sender = self.colleague()
        to = {self.teammate(sender) for _ in range(1 + int(self.rng.random() ** 3 * 4))}
        cc = set()
        if self.rng.random() < 0.3:
            cc = {self.teammate(sender) for _ in range(self.rng.randint(1, 3))}
        self.message(when, sender, list(to), list(cc - to - {sender}), kind="internal")

    def outbound(self, when: float) -> None:
        colleague, contact = self.pair()
        to, cc = [contact], []
        rng = self.rng
        if rng.random() < 0.25:
            peer = self.org_peer(contact)
            if peer is not None:
                (to if rng.random() < 0.5 else cc).append(peer)
        if rng.random() < 0.2:
            cc.append(self.teammate(colleague))
        self.message(when, colleague, to, cc, kind="outbound")

    def inbound(self, when: float) -> None:
        colleague, contact = self.pair()
        to, cc = [colleague], []
        rng = self.rng
        if rng.random() < 0.15:
            to.append(self.teammate(colleague))
        if rng.random() < 0.1:
            peer = self.org_peer(contact)
            if peer is not None:
                cc.append(peer)
        self.message(when, contact, list(dict.fromkeys(to)), cc, kind="inbound")

    def reply(self, when: float) -> bool:
        recent = self.recent
        if not recent:
            return False
        back = min(int(self.rng.expovariate(1 / 300)), len(recent) - 1)
        sender, to, cc, topic, msgid = recent[-1 - back]
        replier = to[0] if self.rng.random() < 0.8 else self.rng.choice(to + cc)
        new_cc = []
        if self.rng.random() < 0.3:
            new_cc = [p for p in to + cc if p != replier and p != sender]
        self.message(
            when, replier, [sender], new_cc, kind="reply", topic=topic, reply_to=msgid
        )
        return True

    def blast(self, when: float) -> None:
        rng = self.rng
        sender = self.colleague()
        count = int(25 + rng.random() ** 2 * 275)
        book = self.pop.books[sender]
        chosen: dict[int, None] = {}
        for _ in range(count):
            if book and rng.random() < 0.6:
                chosen[rng.choice(book)] = None
            else:
                chosen[self.colleague()] = None
        chosen.pop(sender, None)
        everyone = list(chosen)
        if not everyone:
            everyone = [self.teammate(sender)]
        split = rng.randint(1, min(5, len(everyone)))
        self.message(when, sender, everyone[:split], everyone[split:], kind="blast")

    def automated(self, when: float) -> None:
        rng = self.rng
        colleague = self.colleague()
        org = self.pop.orgs[rng.randrange(len(self.pop.orgs))]
        domain = org.domains[0]
        roll = rng.random()
        date = self.date(when, self.people[colleague])
        msgid = f"<{rng.getrandbits(64):016x}.news@{domain}>"
        to = self.mailbox(colleague)
        if roll < 0.5:
            extra = (
                f"List-Id: {org.short} Insights <insights.{domain}>\n"
                f"List-Unsubscribe: <mailto:leave-{rng.getrandbits(32):x}@{domain}>\n"
                "Precedence: bulk\n"
            )
            sender = f'"{org.short} Insights" <insights@{domain}>'
        elif roll < 0.8:
            extra = ""
            sender = f"{org.short} <no-reply@notifications.{domain}>"
        else:
            contact = self.pair()[1]
            extra = "Auto-Submitted: auto-replied\n"
            sender = self.mailbox(contact)
        self.write(
            when, date=date, sender=sender, to=to, cc="", msgid=msgid,
            subject="Weekly update", extra=extra, labels="Inbox,Category Updates",
        )  # fmt: skip
        self.manifest.automated += 1

    def duplicate(self, when: float) -> bool:
        if self.last is None:
            return False
        kwargs = dict(self.last)
        host = kwargs["msgid"].rpartition("@")[2].rstrip(">")
        kwargs["msgid"] = f"<{self.rng.getrandbits(64):016x}.copy@{host}>"
        kwargs["labels"] = "Archived"
        self.write(**kwargs)
        self.manifest.duplicates += 1
        return True

    # Rendering -------------------------------------------------------------

    def mailbox(self, number: int) -> str:
        person = self.people[number]
        address = person.address
        roll = self.rng.random()
        if roll < 0.02:
            local, _, domain = address.partition("@")
            address = f"{local.title()}@{domain.title()}"
        elif roll < 0.03 and number >= self.pop.colleagues:
            local, _, domain = address.partition("@")
            address = f"{local}+{self.rng.choice(('deals', 'crm', 'work'))}@{domain}"
        return person.pre + address + person.post

    def date(self, when: float, person: Person) -> str:
        style = person.date_style
        if style == 4 or style == 5:
            tm = time.gmtime(when)
            zone = "GMT" if style == 4 else "-0000"
        else:
            tm = time.gmtime(when + person.offset * 60)
            sign = "-" if person.offset < 0 else "+"
            hours, minutes = divmod(abs(person.offset), 60)
            zone = f"{sign}{hours:02d}{minutes:02d}"
            if style == 1:
                zone += f" ({person.zone_name})"
        clock = f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
        month = _MONTHS[tm.tm_mon - 1]
        if style == 2:
            return f"{tm.tm_mday:02d} {month} {tm.tm_year} {clock} {zone}"
        day = f"{tm.tm_mday}" if style == 3 else f"{tm.tm_mday:02d}"
        return f"{_DAYS[tm.tm_wday]}, {day} {month} {tm.tm_year} {clock} {zone}"

    def message(
        self,
        when: float,
        sender: int,
        to: list[int],
        cc: list[int],
        *,
        kind: str,
        topic: int | None = None,
        reply_to: str | None = None,
    ) -> None:
        rng = self.rng
        colleagues = self.pop.colleagues
        if topic is None:
            topic = rng.randrange(len(_TOPICS) * 100)
        person = self.people[sender]
        domain = person.address.rpartition("@")[2]
        msgid = f"<{rng.getrandbits(64):016x}.{rng.getrandbits(24)}@mail.{domain}>"
        subject = f"{_TOPICS[topic % len(_TOPICS)]} {topic // len(_TOPICS)}"
        extra = ""
        if reply_to is not None:
            subject = "Re: " + subject
            extra = f"In-Reply-To: {reply_to}\nReferences: {reply_to}\n"
        if rng.random() < 0.3:
            extra += "X-Mailer: Microsoft Outlook 16.0\n"
        labels = rng.choice(_LABELS_OUT if sender < colleagues else _LABELS_IN)
        kwargs = dict(
            when=when,
            date=self.date(when, person),
            sender=self.mailbox(sender),
            to=self._list([self.mailbox(n) for n in to]),
            cc=self._list([self.mailbox(n) for n in cc]),
            msgid=msgid,
            subject=subject,
            extra=extra,
            labels=labels,
        )
        self.write(**kwargs)
        self.last = kwargs
        self.recent.append((sender, to, cc, topic, msgid))
        manifest = self.manifest
        manifest.kinds[kind] = manifest.kinds.get(kind, 0) + 1
        everyone = [sender, *to, *cc]
        if all(n < colleagues for n in everyone):
            manifest.internal += 1
        else:
            manifest.external += 1

    @staticmethod
    def _list(items: list[str]) -> str:
        """Addresses folded three to a line, as mail clients write long lists."""
        if len(items) <= 3:
            return ", ".join(items)
        lines = [", ".join(items[i : i + 3]) for i in range(0, len(items), 3)]
        return ",\n\t".join(lines)

    def write(
        self,
        when: float,
        *,
        date: str,
        sender: str,
        to: str,
        cc: str,
        msgid: str,
        subject: str,
        extra: str,
        labels: str,
    ) -> None:
        rng = self.rng
        tm = time.gmtime(when)
        thread = rng.getrandbits(60)
        envelope = (
            f"From {thread}@xxx {_DAYS[tm.tm_wday]} {_MONTHS[tm.tm_mon - 1]} "
            f"{tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} "
            f"+0000 {tm.tm_year}"
        )
        body = " ".join(rng.choice(_SENTENCES) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.002:
            body += "\n>From the notes of the last meeting: nothing new."
        cc_line = f"Cc: {cc}\n" if cc else ""
        self.out.append(
            f"{envelope}\n"
            f"X-GM-THREAD-ID: {thread}\n"
            f"X-Gmail-Labels: {labels}\n"
            f"Received: by 2002:a05:6a10:{rng.getrandbits(16):x} with SMTP id "
            f"{rng.getrandbits(40):x};\n        {date}\n"
            "MIME-Version: 1.0\n"
            f"Date: {date}\n"
            f"From: {sender}\n"
            f"To: {to}\n"
            f"{cc_line}"
            f"Subject: {subject}\n"
            f"Message-ID: {msgid}\n"
            f"{extra}"
            'Content-Type: text/plain; charset="UTF-8"\n'
            "\n"
            f"{body}\n"
            "\n"
        )
        self.manifest.messages += 1

    def run(self, path: Path) -> Manifest:
        started = time.perf_counter()
        total = self.size.messages
        rng = self.rng
        cut_reply = _P_OUTBOUND + _P_INBOUND
        cut_auto = cut_reply + _P_REPLY
        cut_dup = cut_auto + _P_AUTOMATED
        cut_blast = cut_dup + _P_DUPLICATE
        cut_internal = cut_blast + _P_BLAST
        step = self.span / max(total, 1)
        with open(path, "wb") as stream:
            for i in range(total):
                # Time moves forward with small jitter, as in a real mailbox.
                when = self.start + i * step + rng.uniform(-1800, 1800)
                when = min(max(when, self.start), self.start + self.span - 1)
                roll = rng.random()
                if roll < _P_OUTBOUND:
                    self.outbound(when)
                elif roll < cut_reply:
                    self.inbound(when)
                elif roll < cut_auto:
                    if self.reply(when):
                        self.manifest.replies += 1
                    else:
                        self.outbound(when)
                elif roll < cut_dup:
                    self.automated(when)
                elif roll < cut_blast:
                    if not self.duplicate(when):
                        self.internal(when)
                elif roll < cut_internal:
                    self.manifest.blasts += 1
                    self.blast(when)
                else:
                    self.internal(when)
                if len(self.out) >= 2000:
                    stream.write("".join(self.out).encode("utf-8"))
                    self.out.clear()
            stream.write("".join(self.out).encode("utf-8"))
            self.out.clear()
        self.manifest.bytes = path.stat().st_size
        self.manifest.seconds = time.perf_counter() - started
        return self.manifest


def generate(path: Path, size: FirmSize) -> Manifest:
    """Write the synthetic mbox to `path`; returns what was written."""
    population = make_population(size)
    return _Writer(population, size).run(path)


def sample_queries(population: Population, count: int, *, seed: int) -> list[str]:
    """`count` who-knows queries mixing the ways people ask.

    Organisation names as people type them, domains, addresses, contacts'
    names, misspellings of both, and names nobody has.
    """
    rng = random.Random(seed + 2)
    contacts = population.contact_numbers()
    orgs = population.orgs
    queries = []
    for i in range(count):
        kind = i % 10
        org = orgs[rng.randrange(len(orgs))]
        person = population.people[rng.choice(contacts)]
        if kind in (0, 1):
            queries.append(org.short if kind == 0 else org.name)
        elif kind == 2:
            queries.append(org.short.lower().split()[0])
        elif kind == 3:
            queries.append(rng.choice(org.domains))
        elif kind == 4:
            queries.append(person.address)
        elif kind == 5:
            queries.append(person.name)
        elif kind in (6, 7):
            queries.append(_misspell(rng, org.short))
        elif kind == 8:
            queries.append(_misspell(rng, person.name))
        else:
            queries.append(f"{rng.choice(_LAST)}{rng.choice(_ORG_CORE)} Zyx Trading")
    return queries


def _misspell(rng: random.Random, text: str) -> str:
    """One typing slip: a dropped, doubled, swapped or wrong letter."""
    if len(text) < 4:
        return text + text[-1]
    i = rng.randrange(1, len(text) - 2)
    slip = rng.randrange(4)
    if slip == 0:
        return text[:i] + text[i + 1 :]
    if slip == 1:
        return text[:i] + text[i] + text[i:]
    if slip == 2:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice("aeioustn") + text[i + 1 :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic firm's mbox.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--messages", type=int, default=FirmSize.messages)
    parser.add_argument("--colleagues", type=int, default=FirmSize.colleagues)
    parser.add_argument("--contacts", type=int, default=FirmSize.contacts)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    size = FirmSize(args.colleagues, args.contacts, args.messages, args.seed)
    manifest = generate(args.path, size)
    print(json.dumps(asdict(manifest), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
