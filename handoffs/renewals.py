"""The renewal deal a won deal leaves behind, in the Renewals pipeline.

One shape for a renewal wherever it is made: the close of a live deal and
the import of won history both build it here, so the two cannot drift.
"""

from bowtie.models import Deal, Pipeline, Stage
from bowtie.terms import term_ends_on
from handoffs.services import ActionRefused


def find_first_renewal_stage() -> Stage:
    """The open stage renewals start in; refused when RevOps has none."""
    pipeline = Pipeline.objects.filter(
        kind=Pipeline.Kind.RENEWALS, is_default=True
    ).first()
    stage = pipeline and pipeline.stages.filter(outcome=Stage.Outcome.OPEN).first()
    if stage is None:
        raise ActionRefused(
            "No default Renewals pipeline with an open stage: set one up in the "
            "admin (Pipelines) before closing deals won."
        )
    return stage


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_renewal(deal: Deal, stage: Stage, **values) -> Deal:
    """The unsaved renewal of `deal`, due on the last day of its term."""
    account = deal.account
    limit = Deal._meta.get_field("name").max_length
    return Deal(
        name=truncate(f"Renewal: {deal.name}", limit),
        account=account,
        # The account's owner looks after the customer once it is won.
        owner=account.owner if account and account.owner else deal.owner,
        pipeline=stage.pipeline,
        stage=stage,
        product=deal.product,
        amount=deal.amount,
        term_months=deal.term_months,
        expected_close_on=term_ends_on(deal.closed_on, deal.term_months),
        renews=deal,
        **values,
    )
