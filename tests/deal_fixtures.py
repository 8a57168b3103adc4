"""An open new-business deal with an AE and an implementation team to close to.

Shared by the tests of the deal API, the deal-update import and the inbound
CRM webhook, with the packets the Closed Won tests use.
"""

from types import SimpleNamespace

from djmoney.money import Money

from bowtie.models import Deal, Pipeline
from tests.factories import AccountFactory, PersonFactory, TeamFactory

__all__ = [
    "COMPLETE_PACKET",
    "INCOMPLETE_PACKET",
    "MISSING_FROM_INCOMPLETE",
    "build_open_deal",
]

# Every required item of the default sales -> implementation template.
COMPLETE_PACKET = {
    "deal_history": "Inbound demo request, won on the migration plan.",
    "goals": [
        {
            "metric": "Time to quote",
            "baseline": "5 days",
            "target": "1 day",
            "by_when": "2027-06-30",
        }
    ],
    "stakeholders": [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
        {"person": "Bo Ek", "role": "economic buyer", "sentiment": "neutral"},
    ],
    "commitments": [
        {
            "commitment": "SSO in the first month",
            "kind": "explicit",
            "owner": "Implementation",
            "due_on": "2027-02-28",
        }
    ],
    "risks": "IT prefers the incumbent.",
    "technical_requirements": [
        {"area": "integration", "requirement": "Salesforce sync"},
    ],
    "timeline": [{"event": "Board review", "on": "2027-03-15"}],
}

# Two of the seven required items: the other five are named when refused.
INCOMPLETE_PACKET = {"deal_history": "Inbound.", "risks": "None."}
MISSING_FROM_INCOMPLETE = [
    "goals",
    "stakeholders",
    "commitments",
    "technical_requirements",
    "timeline",
]


def build_open_deal(external_id: str = "D-1001") -> SimpleNamespace:
    sales = TeamFactory(name="Enterprise AEs")
    ae = PersonFactory(full_name="Alex AE", role="ae", team=sales)
    implementation = TeamFactory(name="Implementation", function="implementation")
    head = PersonFactory(full_name="Ivy Impl", role="implementation")
    implementation.head = head
    implementation.save()
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    deal = Deal.objects.create(
        name="Globex platform",
        account=AccountFactory(name="Globex", owner=PersonFactory(role="am")),
        owner=ae,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        amount=Money(24_000, "EUR"),
        term_months=12,
        external_source="crm",
        external_id=external_id,
    )
    return SimpleNamespace(deal=deal, ae=ae, implementation=implementation, head=head)
