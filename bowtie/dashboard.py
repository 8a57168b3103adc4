"""The bow-tie dashboard's reads: every registered metric for one scope."""

from dataclasses import dataclass

from bowtie import charts, measurement
from bowtie.measurement import Metric, Reading, Scope, SeriesKind, Target, Unit
from bowtie.targets import targets_for


@dataclass(frozen=True)
class MetricView:
    """A metric as the dashboard shows it: value, target, verdict and chart."""

    metric: Metric
    reading: Reading
    target: Target

    @property
    def on_target(self) -> bool | None:
        return self.target.holds(self.reading.value)

    @property
    def target_text(self) -> str:
        return self.target.describe(self.metric.unit)

    @property
    def suffix(self) -> str:
        return Unit.suffixes[self.metric.unit]

    def chart(self) -> str:
        draw = (
            charts.group_chart
            if self.metric.series_kind == SeriesKind.GROUPS
            else charts.trend_chart
        )
        return draw(
            self.reading.series,
            unit_suffix=self.suffix,
            target=self.target,
            higher_is_better=self.metric.higher_is_better,
        )


@dataclass(frozen=True)
class Section:
    handoff: str
    label: str
    views: list[MetricView]


def read_metric(metric: Metric, scope: Scope, now, target: Target) -> MetricView:
    return MetricView(metric, metric.measure(scope, now), target)


def read_sections(scope: Scope, now, handoff: str | None = None) -> list[Section]:
    """Each handoff's metrics measured for `scope`, in dashboard order."""
    chosen = measurement.metrics(handoff)
    targets = targets_for(chosen)
    sections = []
    for key, label in measurement.Handoff.choices:
        if handoff is not None and key != handoff:
            continue
        views = [
            read_metric(metric, scope, now, targets[metric.key])
            for metric in chosen
            if metric.handoff == key
        ]
        sections.append(Section(key, label, views))
    return sections
