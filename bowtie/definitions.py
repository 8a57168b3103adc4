"""The metric definitions as Markdown, for the README's section of them.

The definitions page and the README print the same `Definition` texts, so a
test compares the README with this output and the two cannot drift apart.
"""

import textwrap

from bowtie import measurement

START = "<!-- metric definitions: manage.py metric_definitions -->"
END = "<!-- end of metric definitions -->"
WIDTH = 79
PARTS = [
    ("Records", "records"),
    ("Clock", "clock"),
    ("Period", "period"),
    ("Team", "team"),
    ("Segment", "segment"),
]


def wrapped(label: str, text: str) -> str:
    return textwrap.fill(
        f"{label}: {text}", WIDTH, initial_indent="- ", subsequent_indent="  "
    )


def definitions_markdown() -> str:
    lines = [START, ""]
    for key, label in measurement.Handoff.choices:
        lines += [f"#### {label}", ""]
        for metric in measurement.metrics(key):
            target = metric.target.describe(metric.unit)
            lines += [
                f"**{metric.label}** (`{metric.key}`, default target {target})",
                "",
            ]
            lines += [
                wrapped(name, getattr(metric.definition, field))
                for name, field in PARTS
            ]
            lines.append("")
    lines += [END, ""]
    return "\n".join(lines)
