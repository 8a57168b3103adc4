"""How good the Sales → Implementation handoffs are, per AE and per team.

- Packet completeness: the stored score of each live new-business deal,
  averaged per owner and per owner's team.
- Ratings: the receivers' marks, averaged over the five counts and over the
  handoffs each AE sent.
- The lowest: the handoffs rated since `since`, lowest first. Each team's
  head gets its week's lowest in the weekly operating review
  (`handoffs.operating_review`).
"""

from dataclasses import dataclass
from statistics import mean

from bowtie.models import Deal, Pipeline
from handoffs.models import Handoff, HandoffRating

REVIEW_LENGTH = 10


@dataclass(frozen=True)
class QualityRow:
    label: str
    deal_count: int
    mean_completeness: float | None
    rated_count: int
    mean_rating: float | None


@dataclass(frozen=True)
class HandoffQuality:
    by_ae: list[QualityRow]
    by_team: list[QualityRow]
    lowest: list[HandoffRating]


def quality_rows(deals: list[Deal], ratings: list[HandoffRating], key) -> list:
    groups: dict = {}
    for deal in deals:
        groups.setdefault(key(deal), ([], []))[0].append(deal.packet_completeness)
    for rating in ratings:
        groups.setdefault(key(rating.handoff.deal), ([], []))[1].append(rating.average)
    return sorted(
        (
            QualityRow(
                label=str(label or "No owner"),
                deal_count=len(completeness),
                mean_completeness=mean(completeness) if completeness else None,
                rated_count=len(marks),
                mean_rating=mean(marks) if marks else None,
            )
            for label, (completeness, marks) in groups.items()
        ),
        key=lambda row: row.label,
    )


def handoff_quality(teams, since) -> HandoffQuality:
    deals = list(
        Deal.objects.filter(
            is_historical=False,
            pipeline__kind=Pipeline.Kind.NEW_BUSINESS,
            owner__team__in=teams,
        ).select_related("owner__team")
    )
    ratings = list(
        HandoffRating.objects.filter(
            handoff__kind=Handoff.Kind.SALES_TO_IMPLEMENTATION,
            handoff__deal__owner__team__in=teams,
        ).select_related("handoff__deal__owner__team", "rated_by")
    )
    recent = [rating for rating in ratings if rating.rated_at >= since]
    return HandoffQuality(
        by_ae=quality_rows(deals, ratings, lambda deal: deal.owner),
        by_team=quality_rows(
            deals, ratings, lambda deal: deal.owner.team if deal.owner else None
        ),
        lowest=sorted(recent, key=lambda rating: rating.average)[:REVIEW_LENGTH],
    )
