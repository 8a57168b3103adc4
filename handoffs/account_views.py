"""The account page: one customer across the bow tie.

Its facts, deals, handoffs and contacts, the milestones of its
implementations as they are logged, and its health over time. The last two
come from the partners app through template tags, so this module imports
nothing of it.

Who may open it (vendor people only; a partner's person is no `Person`):

- managers, RevOps, implementation and customer-success people (CSMs and
  account managers) open every account: they work customers after the sale,
  whoever sold them, as they see every engagement;
- anyone else opens the accounts they own and those with a deal they may
  open (`visible_deals`): an AE sees the customers of their own deals.

Anyone else gets 404, as for a deal they may not see.
"""

from django.db.models import F, Q
from django.shortcuts import get_object_or_404, render

from bowtie.access import person_required
from bowtie.models import Account, Person
from handoffs.models import Handoff
from handoffs.queries import visible_deals, visible_handoffs, visible_leads

# Roles that open every account.
ACCOUNT_WIDE_ROLES = (
    Person.Role.MANAGER,
    Person.Role.REVOPS_ADMIN,
    Person.Role.IMPLEMENTATION,
    Person.Role.CSM,
    Person.Role.AM,
)

# Kinds the handoff page opens; the lead's handoff opens on the lead page.
HANDOFF_PAGE_KINDS = (
    Handoff.Kind.SALES_TO_IMPLEMENTATION,
    Handoff.Kind.IMPLEMENTATION_TO_CS,
)


def visible_accounts(person: Person):
    if person.role in ACCOUNT_WIDE_ROLES:
        return Account.objects.all()
    return Account.objects.filter(
        Q(owner=person) | Q(pk__in=visible_deals(person).values("account"))
    )


def handoff_rows(account: Account, person: Person) -> list[dict]:
    """Every handoff about the account, with the page it opens on, if any."""
    handoffs = list(
        Handoff.objects.filter(
            Q(account=account) | Q(deal__account=account) | Q(lead__account=account)
        )
        .select_related("deal", "lead", "sender", "receiver", "receiving_team")
        .order_by("-opened_at")
    )
    ids = [handoff.pk for handoff in handoffs]
    openable = set(
        visible_handoffs(person).filter(pk__in=ids).values_list("pk", flat=True)
    )
    leads = set(
        visible_leads(person)
        .filter(pk__in=[handoff.lead_id for handoff in handoffs if handoff.lead_id])
        .values_list("pk", flat=True)
    )
    rows = []
    for handoff in handoffs:
        if handoff.kind == Handoff.Kind.LEAD_TO_SALES:
            url_name, pk = ("lead-detail", handoff.lead_id)
            is_openable = handoff.lead_id in leads
        else:
            url_name, pk = ("handoff-detail", handoff.pk)
            is_openable = handoff.kind in HANDOFF_PAGE_KINDS and handoff.pk in openable
        rows.append(
            {
                "handoff": handoff,
                "subject": handoff.deal or handoff.lead or account,
                "url_name": url_name if is_openable else "",
                "pk": pk,
            }
        )
    return rows


@person_required()
def account_detail(request, person, pk):
    account = get_object_or_404(
        visible_accounts(person).select_related("owner", "parent"), pk=pk
    )
    # Live deals first, then the closed ones, the latest first.
    deals = list(
        account.deals.select_related("stage", "pipeline", "owner").order_by(
            F("closed_on").desc(nulls_first=True), "-created_at", "-pk"
        )
    )
    openable_deals = set(
        visible_deals(person)
        .filter(pk__in=[deal.pk for deal in deals])
        .values_list("pk", flat=True)
    )
    context = {
        "account": account,
        "size": Account.Size(account.size).label if account.size else "",
        "deals": [
            {"deal": deal, "is_openable": deal.pk in openable_deals} for deal in deals
        ],
        "handoffs": handoff_rows(account, person),
        "contacts": account.contacts.all(),
        "domains": account.domains.all(),
        "subsidiaries": visible_accounts(person).filter(parent=account),
    }
    return render(request, "handoffs/account_detail.html", context)
