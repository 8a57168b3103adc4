"""Isolation: every route of the project, walked as partner callers, shows no
other partner's rows, and no vendor page, vendor API or admin page lets them in.

The routes are read from the URL resolver when the test runs, so one added
tomorrow is walked tomorrow without an edit here. Each is put in one class:

- public: a short allow-list below, each entry with why anyone may open it;
- partner: the partner area (/partner/) and the partner API (/api/partner/):
  an id of another partner's row answers 404, the caller's own rows work,
  and no answer names another partner's engagement, deal, account or person;
- admin: closed to everyone here, none of them staff;
- vendor: every other route of the project's own apps: closed to partner
  callers (401, 403, 404, 405, or a redirect to a sign-in page or to the
  partner area), and a partner token is refused 403 on every vendor API route.

A route that fits none (another package's view), whose address cannot be
built back from its pattern, or a partner route with a parameter that names
no row the test knows, fails `test_every_route_is_walked_or_allowed_as_public`
by name: add it to the allow-list with its reason, or a noun to NOUNS.

Each route's parameters are filled from the parameter's name (`engagement_id`),
or for `pk` and `id` from the path segment before it (`engagements/<pk>`), or
for the admin from the model of its page: once with the other partner's rows
(Birch's, to be refused) and once with the caller's own (Acme's, to work).
Every route takes a GET, and a POST with an empty body.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import Resolver404, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.regex_helper import normalize

from bowtie.models import ApiToken, Contact, hash_token_key
from partners.models import (
    CustomerSession,
    Engagement,
    EngagementComment,
    ImplementationMilestone,
    Partner,
    PartnerMember,
    PartnerToken,
    ReadinessCondition,
)
from partners.services import add_comment, assign_partner, log_milestone, log_session
from partners.tokens import issue_partner_token
from tests.partner_fixtures import (
    build_partner_member,
    build_partner_world,
    build_won_deal,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

# Routes anyone may open, by name (namespaced for the admin's), with why.
PUBLIC = {
    "login": "The sign-in page: how anyone gets in.",
    "logout": "Signs out whoever sends it, and shows nothing.",
    "admin:login": "The admin's sign-in page.",
    "partner-login": "The partner area's sign-in page.",
    "partner-welcome": "An invitation's link: the signed token in it is the key, "
    "checked by the view, and a wrong one shows nothing.",
    "public-form": "The lead form of the website: anyone may send a lead.",
    "public-form-thanks": "The page after it, with nothing of anyone's.",
    "status-json": "For an outside monitor: job names and states, no data.",
    "api-schema": "The API's schema: the same for every install, no data.",
    "api-docs": "The page that shows the schema.",
}
# Views without a name that anyone may open, by dotted path.
PUBLIC_VIEWS = {
    "django.views.static.serve": "Static files (DEBUG only): the same for all.",
    "django.contrib.staticfiles.views.serve": "Static files (DEBUG only).",
}
PROJECT_APPS = ("bowtie.", "handoffs.", "partners.", "expansion.")
PARTNER_PREFIXES = ("partner/", "api/partner/")

# The nouns a parameter may name a row of; each side has its row of each
# (none of notifications, which partners do not get). `pk` and `id` take the
# noun of the path segment before them.
NOUNS = (
    "engagement",
    "handoff",
    "deal",
    "account",
    "contact",
    "milestone",
    "readiness",
    "condition",
    "comment",
    "session",
    "member",
    "partner",
    "token",
    "notification",
)
# Parameters that are not ids, with a value that exists on each side.
STRINGS = {
    "kind": lambda side: "kickoff",
    "key": lambda side: "tasks_work",
    "slug": lambda side: side.partner.slug,
    "app_label": lambda side: "partners",
    "handoff": lambda side: "lead_to_sales",
}
# Where nothing better is known: a row id on vendor and admin routes, which
# must be closed whatever the id; text for the admin's catch-all and tokens.
FALLBACK_TEXT = "nothing-here"
CLOSED = {401, 403, 404, 405}
PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass
class Route:
    """One URL pattern of the project, with everything along its path."""

    name: str | None
    callback: object
    template: str
    params: list[str]
    # The admin's model for the page, if it is a model's admin page.
    model: type | None = None

    @property
    def label(self) -> str:
        return f"/{self.template} ({self.name or self.callback_path})"

    @property
    def callback_path(self) -> str:
        callback = self.callback
        return f"{callback.__module__}.{getattr(callback, '__name__', '')}"

    @property
    def kind(self) -> str | None:
        if self.name in PUBLIC or self.callback_path in PUBLIC_VIEWS:
            return "public"
        if self.template.startswith(PARTNER_PREFIXES):
            return "partner"
        if self.template.startswith("admin/"):
            return "admin"
        if self.callback.__module__.startswith(PROJECT_APPS):
            return "vendor"
        return None

    @property
    def is_api(self) -> bool:
        return self.template.startswith("api/")

    @property
    def is_drf(self) -> bool:
        # A DRF view: the token check and its scopes apply.
        return hasattr(self.callback, "cls")

    @property
    def is_partner_api(self) -> bool:
        return self.template.startswith("api/partner/")


def walk(patterns, prefix="", namespace=None):
    """Every URL pattern under `patterns`, with its full path and name."""
    for entry in patterns:
        piece = template_of(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from walk(entry.url_patterns, prefix + piece, inner)
            continue

        name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
        admin = getattr(entry.callback, "model_admin", None)
        yield Route(
            name=name,
            callback=entry.callback,
            template=prefix + piece,
            params=re.findall(r"\{(\w+)\}", prefix + piece),
            model=admin.model if admin is not None else None,
        )


def template_of(pattern) -> str:
    """The pattern as text with `{name}` for each parameter.

    A regular expression is read as Django reverses one: its shortest form,
    so `accounts/?$` is `accounts`.
    """
    if isinstance(pattern, RoutePattern):
        return PLACEHOLDER.sub(lambda m: "{" + m["name"] + "}", str(pattern))
    if isinstance(pattern, RegexPattern):
        text, _ = normalize(pattern.regex.pattern)[0]
        return re.sub(r"%\((\w+)\)s", r"{\1}", text)
    raise TypeError(f"No template for the pattern {pattern!r}.")


def project_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def noun_of(route: Route, param: str) -> str | None:
    """The row a parameter names: by its name, or by the segment before it."""
    stem = re.sub(r"_(id|pk)$", "", param)
    if stem in NOUNS:
        return stem
    if param not in ("pk", "id", "object_id"):
        return None
    before = route.template.split("{" + param + "}")[0].rstrip("/").split("/")[-1]
    singular = "person" if before == "people" else re.sub(r"s$", "", before)
    return singular if singular in NOUNS else None


def fill(route: Route, side) -> tuple[str | None, bool, list[str]]:
    """The route's address for one side's rows.

    Returns the address (None if it cannot be built back), whether any
    parameter holds one of that side's rows, and the parameters that name
    nothing known, filled with an id, or text where an id does not fit.
    """
    values, has_row, unknown = {}, False, []
    for param in route.params:
        noun = noun_of(route, param)
        if param in STRINGS:
            values[param] = STRINGS[param](side)
        elif param == "object_id" and route.model in side.rows_by_model:
            values[param], has_row = side.rows_by_model[route.model], True
        elif param == "content_type_id":
            values[param] = side.content_type_id
        elif noun is not None and side.rows.get(noun) is not None:
            values[param], has_row = side.rows[noun], True
        else:
            unknown.append(param)
            values[param] = side.fallback_id
    url = address(route, values)
    if url is None and unknown:
        url = address(route, values | dict.fromkeys(unknown, FALLBACK_TEXT))
    return url, has_row, unknown


def address(route: Route, values: dict) -> str | None:
    """The address with these values, if it resolves back to the route."""
    url = "/" + route.template.format(**values)
    try:
        match = resolve(url)
    except Resolver404:
        return None
    return url if match.func is route.callback else None


def unclassified(routes, side) -> list[str]:
    problems = []
    for route in routes:
        url, _, unknown = fill(route, side)
        if route.kind is None:
            problems.append(f"{route.label}: not public, partner, admin or vendor")
        elif url is None:
            problems.append(f"{route.label}: its address cannot be built back")
        elif route.kind == "partner" and unknown:
            problems.append(f"{route.label}: names no known row with {unknown}")
    return problems


class FakeSide(SimpleNamespace):
    """Rows by noun, all id 1: enough to build addresses without a database."""

    def __init__(self):
        super().__init__(
            partner=SimpleNamespace(slug="acme"),
            rows=dict.fromkeys(NOUNS, 1),
            rows_by_model={},
            fallback_id=1,
            content_type_id=1,
        )


def test_every_route_is_walked_or_allowed_as_public():
    routes = project_routes()

    problems = unclassified(routes, FakeSide())

    assert not problems, "\n".join(problems)
    assert {route.kind for route in routes} == {"public", "partner", "admin", "vendor"}
    # The allow-list names only routes that exist.
    assert set(PUBLIC) <= {route.name for route in routes}


# --- The world walked: two partners with rows of every kind. ---------------


@dataclass
class Side:
    """One partner's rows, by noun, and the text that would betray them."""

    partner: Partner
    engagement: Engagement
    rows: dict[str, int]
    rows_by_model: dict[type, int]
    markers: list[str]
    fallback_id: int
    content_type_id: int
    addresses: list[str] = field(default_factory=list)


def side_of(partner, member, engagement) -> Side:
    account = engagement.account
    contact = Contact.objects.filter(account=account).first()
    rows = {
        "engagement": engagement.pk,
        "handoff": engagement.handoff_id,
        "deal": engagement.deal_id,
        "account": engagement.account_id,
        "contact": contact.pk,
        "milestone": engagement.milestones.get(kind="kickoff").pk,
        "readiness": engagement.readiness.get(key="tasks_work").pk,
        "condition": engagement.readiness.get(key="tasks_work").pk,
        "comment": engagement.comments.first().pk,
        "session": engagement.sessions.first().pk,
        "member": member.pk,
        "partner": partner.pk,
        "token": partner.tokens.first().pk,
        "notification": None,
    }
    models = {
        Engagement: engagement.pk,
        type(engagement.handoff): engagement.handoff_id,
        type(engagement.deal): engagement.deal_id,
        type(account): account.pk,
        Contact: contact.pk,
        ImplementationMilestone: rows["milestone"],
        ReadinessCondition: rows["readiness"],
        EngagementComment: rows["comment"],
        CustomerSession: rows["session"],
        PartnerMember: member.pk,
        Partner: partner.pk,
        PartnerToken: rows["token"],
    }
    markers = [
        partner.name,
        partner.name.split()[0],
        member.email,
        member.full_name,
        engagement.deal.name,
        account.name,
    ]
    return Side(
        partner=partner,
        engagement=engagement,
        rows=rows,
        rows_by_model=models,
        markers=markers,
        fallback_id=engagement.pk,
        # The admin's "view on site" of an engagement.
        content_type_id=ContentType.objects.get_for_model(Engagement).pk,
    )


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def walked(db, frozen):
    """The partner world, each engagement with a comment, a session, a token."""
    world = build_partner_world()
    for engagement, actor in (
        (world.acme_engagement, world.acme_actor),
        (world.birch_engagement, world.birch_actor),
    ):
        add_comment(engagement, actor, f"{engagement.deal.name}: agenda sent.")
        log_session(
            engagement,
            actor,
            kind="meeting",
            title="Scoping",
            held_on=date(2027, 2, 27),
            invited=[],
            attended=[],
        )
    _, acme_key = issue_partner_token(world.acme, "Acme PSA", world.head)
    issue_partner_token(world.birch, "Birch CRM", world.head)
    world.acme_key = acme_key
    world.own = side_of(world.acme, world.acme_member, world.acme_engagement)
    world.other = side_of(world.birch, world.birch_member, world.birch_engagement)
    world.routes = project_routes()
    # Any address of the partner routes made with Birch's rows: a link to one
    # in an answer to Acme is a leak even without a name in it.
    world.other.addresses = [
        url
        for route in world.routes
        if route.kind == "partner"
        for url, has_row, _ in [fill(route, world.other)]
        if url and has_row
    ]
    return world


@dataclass
class Caller:
    """Who walks the routes: a session's user, or a token's key."""

    name: str
    user: object = None
    key: str | None = None
    # Text that must not appear in any answer to this caller, whatever its
    # status, and addresses it must not be given.
    forbidden: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    client: Client = field(default_factory=Client)

    def __post_init__(self):
        self.sign_in()

    def sign_in(self):
        if self.user is not None:
            self.client.force_login(self.user)

    def request(self, method: str, url: str):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}
        response = getattr(self.client, method)(url, **headers)
        if method == "post":
            # An empty POST may have signed the session out (a logout).
            self.sign_in()
        return response


@dataclass
class Answer:
    """A request's first response, and the page its redirects end on."""

    method: str
    url: str
    first: object
    final: object
    landed: str | None

    @property
    def status(self) -> int:
        return self.first.status_code


def ask(caller: Caller, method: str, url: str, routes, hops: int = 5) -> Answer:
    """Send the request and follow its redirects with GETs, as a browser does,
    up to a public page (a sign-in page), which is not fetched."""
    first = response = caller.request(method, url)
    landed = None
    while response.status_code in (301, 302, 303, 307, 308) and hops:
        landed = urlsplit(response["Location"]).path
        if kind_of_path(landed, routes) == "public":
            break
        response = caller.request("get", response["Location"])
        hops -= 1
    return Answer(method.upper(), url, first, response, landed)


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def leaks(caller: Caller, answer: Answer, other: Side | None) -> list[str]:
    """What in an answer betrays rows the caller must not see.

    The address asked for is left out: a page that repeats it (a sign-in
    page's `next`) tells the caller nothing it did not send.
    """
    response = answer.final
    text = body_of(response)
    body = text.replace(answer.url, "").replace(quote(answer.url), "")
    found = [
        f"names {marker!r}"
        for marker in caller.forbidden
        if marker.lower() in body.lower()
    ]
    found += [
        f"links {url}"
        for url in caller.addresses
        # The address whole: /api/partner/engagements/2 is not in .../21.
        if re.search(re.escape(url) + r"(?![\w-])", body)
    ]
    if other is not None and "json" in response.get("Content-Type", ""):
        found += json_leaks(json.loads(text or "null"), other)
    return found


def json_leaks(data, other: Side) -> list[str]:
    """Another side's id under a key named after an engagement, deal or account."""
    found = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                noun = re.sub(r"_id$", "", key)
                if (
                    noun in ("engagement", "deal", "account")
                    and type(item) is int
                    and item == other.rows[noun]
                ):
                    found.append(f"holds {key}={item}")
                stack.append(item)
    return found


def kind_of_path(path: str | None, routes: list[Route]) -> str | None:
    if path is None:
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return next((r.kind for r in routes if r.callback is match.func), None)


def is_closed(answer: Answer, routes: list[Route]) -> bool:
    """Refused, or sent on to a sign-in page or to the partner area."""
    if answer.final.status_code in CLOSED:
        return True
    landed = kind_of_path(answer.landed, routes)
    if answer.final.status_code in (301, 302, 303, 307, 308):
        return landed == "public"
    return answer.final.status_code == 200 and landed == "partner"


def describe(caller: Caller, answer: Answer, route: Route, problem: str) -> str:
    return f"{caller.name} {answer.method} {answer.url} {route.label}: {problem}"


def check_public(caller, route, url, world) -> list[str]:
    answer = ask(caller, "get", url, world.routes)
    problems = [
        describe(caller, answer, route, leak)
        for leak in leaks(caller, answer, world.other)
    ]
    if answer.final.status_code >= 500:
        problems.append(describe(caller, answer, route, "server error"))
    return problems


def check_closed(caller, route, method, url, world, status=None) -> list[str]:
    """A vendor or admin route, or any route to a caller who sees nothing.

    A partner token must be refused 403 by every vendor API route; `status`
    is the one answer the route must give, if it has one.
    """
    answer = ask(caller, method, url, world.routes)
    problems = [
        describe(caller, answer, route, leak)
        for leak in leaks(caller, answer, world.other)
    ]
    if not is_closed(answer, world.routes):
        problems.append(
            describe(
                caller,
                answer,
                route,
                f"let in: {answer.status}, ended {answer.final.status_code} "
                f"at {answer.landed}",
            )
        )
    if route.is_drf and caller.key:
        status = 403
    if status is not None and answer.status != status:
        problems.append(
            describe(caller, answer, route, f"got {answer.status}, not {status}")
        )
    return problems


def check_partner_route(caller, route, world) -> list[str]:
    """Birch's rows answer 404; Acme's own work; nothing names Birch's."""
    other_url, other_has_row, _ = fill(route, world.other)
    own_url, _, _ = fill(route, world.own)
    problems = []
    if other_has_row:
        for method in ("get", "post"):
            answer = ask(caller, method, other_url, world.routes)
            problems += [
                describe(caller, answer, route, leak)
                for leak in leaks(caller, answer, world.other)
            ]
            # 405: a method the route never takes, whatever the row.
            if answer.status not in (404, 405):
                problems.append(
                    describe(caller, answer, route, f"answered {answer.status}")
                )

    answer = ask(caller, "get", own_url, world.routes)
    problems += [
        describe(caller, answer, route, leak)
        for leak in leaks(caller, answer, world.other)
    ]
    if answer.status in (401, 403, 404) or answer.final.status_code >= 500:
        problems.append(
            describe(
                caller,
                answer,
                route,
                f"its own rows answered {answer.status}, "
                f"ended {answer.final.status_code}",
            )
        )
    return problems


def walk_as_partner(caller: Caller, world) -> list[str]:
    """Every route as one of Acme's callers: what is wrong."""
    problems = []
    for route in world.routes:
        urls = {fill(route, side)[0] for side in (world.other, world.own)}
        if route.kind == "public":
            for url in urls:
                problems += check_public(caller, route, url, world)
        elif route.kind in ("vendor", "admin") or (
            # The partner area takes a member's session; a token is no one there.
            caller.key and not route.is_partner_api
        ):
            for method in ("get", "post"):
                for url in urls:
                    problems += check_closed(caller, route, method, url, world)
        else:
            problems += check_partner_route(caller, route, world)
    return problems


def walk_as_nobody(caller: Caller, world) -> list[str]:
    """Every route as a caller with no active partner: it sees no one's rows,
    and the partner API refuses it 403."""
    problems = []
    for route in world.routes:
        urls = {fill(route, side)[0] for side in (world.other, world.own)}
        if route.kind == "public":
            for url in urls:
                problems += check_public(caller, route, url, world)
            continue
        for method in ("get", "post"):
            for url in urls:
                problems += check_closed(
                    caller,
                    route,
                    method,
                    url,
                    world,
                    status=403 if route.is_partner_api else None,
                )
    return problems


def acme_callers(world) -> list[Caller]:
    forbidden = world.other.markers
    addresses = world.other.addresses
    return [
        Caller(
            "Acme's member",
            user=world.acme_member.user,
            forbidden=forbidden,
            addresses=addresses,
        ),
        Caller(
            "Acme's token", key=world.acme_key, forbidden=forbidden, addresses=addresses
        ),
    ]


def test_partner_callers_reach_no_other_partners_rows_and_no_vendor_page(walked):
    problems = []

    for caller in acme_callers(walked):
        problems += walk_as_partner(caller, walked)

    assert not problems, "\n".join(problems)


def engagement_markers(*sides: Side) -> list[str]:
    """What names an engagement: its deal, its account; not the partner's own
    name, which a member's page may show to that member."""
    return [
        marker
        for side in sides
        for marker in (side.engagement.deal.name, side.engagement.account.name)
    ]


def test_callers_without_an_active_partner_see_nothing(walked):
    no_link = get_user_model().objects.create_user("nobody@example.com")
    inactive = build_partner_member(walked.acme, "ina@acme.example", "Ina Acme")
    inactive.is_active = False
    inactive.save()
    walked.birch.is_active = False
    walked.birch.save()
    both = engagement_markers(walked.own, walked.other)
    callers = [
        Caller(
            "a user with no partner or person",
            user=no_link,
            forbidden=[*both, *walked.own.markers, *walked.other.markers],
        ),
        Caller("an inactive member of Acme", user=inactive.user, forbidden=both),
        Caller(
            "a member of the inactive Birch",
            user=walked.birch_member.user,
            forbidden=both,
        ),
    ]
    problems = []

    for caller in callers:
        problems += walk_as_nobody(caller, walked)

    assert not problems, "\n".join(problems)


def test_partner_lists_show_exactly_their_own_engagement(walked):
    member, token = acme_callers(walked)
    partner_pages = [
        route
        for route in walked.routes
        if route.kind == "partner" and not route.is_partner_api and not route.params
    ]

    api_lists = [
        ask(caller, "get", "/api/partner/engagements/", walked.routes).final.json()
        for caller in (member, token)
    ]
    pages = [
        body_of(ask(member, "get", "/" + r.template, walked.routes).final)
        for r in partner_pages
    ]

    assert [[row["id"] for row in body["results"]] for body in api_lists] == [
        [walked.acme_engagement.pk]
    ] * 2
    assert any("Globex platform" in page for page in pages)


def normalised(answer: Answer) -> tuple:
    """An answer as compared between two walks: per-request tokens left out."""
    body = re.sub(r'(csrfmiddlewaretoken"? value=")[^"]+', r"\1", body_of(answer.final))
    body = re.sub(r'(name="csrf-token" content=")[^"]+', r"\1", body)
    counts = {
        name: value
        for name, value in answer.final.items()
        if "count" in name.lower() or "total" in name.lower()
    }
    return answer.first.status_code, answer.final.status_code, counts, body


def snapshot(callers, world) -> dict:
    """Every partner route each caller may open with its own rows, and lists."""
    answers = {}
    for caller in callers:
        for route in world.routes:
            if route.kind != "partner":
                continue
            url, _, _ = fill(route, world.own)
            answers[caller.name, url] = normalised(
                ask(caller, "get", url, world.routes)
            )
    return answers


def test_partner_pages_and_api_count_only_their_own_partners_rows(walked, frozen):
    callers = acme_callers(walked)
    before = snapshot(callers, walked)
    # More of Birch's: an engagement, a milestone planned, a comment. A count,
    # a chart or an export of Acme's that moves with them counts Birch's.
    deal = build_won_deal(
        "Initech Labs", walked.ae, walked.acme_engagement.deal.pipeline
    )
    assign_partner(deal.handoffs.get(), walked.vendor, walked.birch)
    log_milestone(
        walked.birch_engagement,
        "kickoff",
        walked.birch_actor,
        planned_on=date(2027, 3, 9),
    )
    add_comment(walked.birch_engagement, walked.birch_actor, "Kickoff booked.")

    after = snapshot(callers, walked)

    changed = [key for key in before if before[key] != after[key]]
    assert changed == []
    assert len(before) == len(after) > 0


def test_tokens_with_no_partner_or_revoked_reach_no_api_route(walked):
    """Partner scopes without a partner: 403 on every API route, the partner's
    and the vendor's; a revoked partner token: 401 on every one."""
    unlinked_key = "bt_unlinked_partner_1"
    ApiToken.objects.create(
        name="Unlinked",
        key_prefix=unlinked_key[:10],
        key_hash=hash_token_key(unlinked_key),
        scopes=["partner:read", "partner:write"],
    )
    revoked = ApiToken.objects.get(partner_link__partner=walked.acme)
    revoked.revoked_at = NOW
    revoked.save()
    expected = {unlinked_key: 403, walked.acme_key: 401}
    problems = []

    for key, status in expected.items():
        caller = Caller(f"token {key[:10]}", key=key)
        for route in walked.routes:
            if not route.is_drf or route.kind == "public":
                continue
            for method in ("get", "post"):
                url, _, _ = fill(route, walked.own)
                answer = ask(caller, method, url, walked.routes)
                if answer.status != status:
                    problems.append(
                        describe(caller, answer, route, f"got {answer.status}")
                    )

    assert not problems, "\n".join(problems)
