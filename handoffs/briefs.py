"""The handoff brief: the packet and the deal told as statements, each sourced.

One list of statements feeds three renderings: the page, Markdown to paste
into a CRM, and a PDF. Every statement carries the field it came from and a
link to that field on the deal page, so a reader can check it at the source.
"""

from dataclasses import dataclass
from io import BytesIO
from xml.sax.saxutils import escape

from django.conf import settings
from django.urls import reverse
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from handoffs.models import Handoff


@dataclass(frozen=True)
class Statement:
    text: str
    source: str
    url: str


@dataclass(frozen=True)
class Section:
    title: str
    statements: list[Statement]


def field_url(handoff: Handoff, anchor: str) -> str:
    """The field on the handoff's page, where the packet as handed over stands.

    Not the deal page: the AE may edit the deal's packet after the close, and
    the receivers may not open the deal.
    """
    page = reverse("handoff-detail", args=[handoff.pk])
    return f"{settings.BOWTIE_BASE_URL}{page}#{anchor}"


def deal_section(handoff: Handoff) -> Section:
    deal = handoff.deal
    facts = [
        ("Account", deal.account, "account"),
        ("Owner", deal.owner, "owner"),
        ("Amount", deal.amount, "amount"),
        ("Term", f"{deal.term_months} months", "term_months"),
        ("Closed won", deal.closed_on, "closed_on"),
    ]
    return Section(
        "The deal",
        [
            Statement(
                f"{label}: {value}.",
                f"Deal {field}",
                field_url(handoff, f"deal-{field}"),
            )
            for label, value, field in facts
            if value
        ],
    )


def packet_sections(handoff: Handoff, items) -> list[Section]:
    packet = handoff.packet or {}
    sections: dict[str, list[Statement]] = {}
    for item in items:
        value = packet.get(item.key)
        url = field_url(handoff, f"item-{item.key}")
        if item.kind == "rows":
            statements = [
                Statement(
                    "; ".join(
                        f"{part['label']}: {row.get(part['key'])}"
                        for part in item.parts
                        if row.get(part["key"])
                    )
                    + ".",
                    f"{item.label}, row {number}",
                    url,
                )
                for number, row in enumerate(value or [], start=1)
                if isinstance(row, dict) and any(row.values())
            ]
        else:
            statements = (
                [Statement(str(value).strip(), item.label, url)]
                if value and str(value).strip()
                else []
            )
        if statements:
            sections.setdefault(item.section, []).extend(statements)
    return [Section(title, statements) for title, statements in sections.items()]


def handoff_brief(handoff: Handoff, items) -> list[Section]:
    return [deal_section(handoff), *packet_sections(handoff, items)]


def brief_markdown(handoff: Handoff, sections: list[Section]) -> str:
    lines = [f"# Handoff brief: {handoff.deal.name}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [
            f"- {statement.text} ([{statement.source}]({statement.url}))"
            for statement in section.statements
        ]
        lines.append("")
    return "\n".join(lines)


def brief_pdf(handoff: Handoff, sections: list[Section]) -> bytes:
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(f"Handoff brief: {handoff.deal.name}"), styles["Title"])]
    for section in sections:
        story.append(Paragraph(escape(section.title), styles["Heading2"]))
        for statement in section.statements:
            story.append(
                Paragraph(
                    f"{escape(statement.text)} "
                    f'<link href="{escape(statement.url)}" color="blue">'
                    f"[{escape(statement.source)}]</link>",
                    styles["BodyText"],
                )
            )
        story.append(Spacer(1, 4 * mm))
    buffer = BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Handoff brief: {handoff.deal.name}"
    ).build(story)
    return buffer.getvalue()
