"""The bench's table, its notification lines and the targets it checks."""

from handoffs.benchmarks.load import LoadResult, percentile

# The product's targets for lead intake (speed-to-lead is the point of it).
MIN_THROUGHPUT_SHARE = 0.5
MAX_P99_AT_RATE_MS = 100.0
MAX_NOTIFICATION_P99_MS = 1000.0
# A load generator this late on its schedule has added its own delay.
GENERATOR_LAG_WORTH_NOTING_MS = 5.0


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def seconds_percentile_ms(values: list[float], percent: float) -> float | None:
    value = percentile(values, percent)
    return None if value is None else value * 1000


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f} %"


def verdict(is_met: bool | None) -> str:
    return "no data" if is_met is None else "met" if is_met else "MISSED"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def render(
    *,
    closed: dict[str, LoadResult],
    opened: dict[str, LoadResult],
    cpu: dict[str, dict],
    delays: dict,
    options: dict,
    cpu_count: int | None,
) -> str:
    rate, duration = options["rate"], options["duration"]
    lines = [
        f"Lead intake against the one-row baseline: gunicorn "
        f"{options['web_workers']} workers x {options['web_threads']} threads, "
        f"Celery {options['worker_concurrency']} threads,",
        f"PostgreSQL, Redis broker, the worker's outbox relay, file-based e-mail "
        f"backend; {cpu_count or '?'} CPUs shared with the load generator.",
        "",
        f"Closed loop: {options['clients']} clients, {options['requests']} requests "
        f"per endpoint in {options['rounds']} rounds that take the endpoints in "
        "turn.",
        "CPU per answered request, in ms: web server, Celery worker, PostgreSQL",
        "backends, the load generator, the rest of the machine (Redis, the kernel's",
        "network work, PostgreSQL's writers, and whatever else runs there), and all.",
        f"{'endpoint':<21}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'web':>7}{'worker':>8}{'db':>6}{'load':>6}{'other':>7}{'all':>6}",
    ]
    for name in closed:
        run, used = closed[name], cpu[name]
        known = [value for value in used.values() if value is not None]
        lines.append(
            f"{name:<21}{run.throughput():>8.1f}{ms(run.latency_ms(50)):>8}"
            f"{ms(run.latency_ms(99)):>8}{ms(used['web']):>7}"
            f"{ms(used['worker']):>8}{ms(used['database']):>6}"
            f"{ms(used['generator']):>6}{ms(used['other']):>7}"
            f"{ms(sum(known) if known else None):>6}"
        )

    for name in closed:
        sent = len(closed[name].samples)
        if sent < max(1, options["requests"] // options["rounds"]) * options["rounds"]:
            lines.append(
                f"  ({name}: stopped at the time limit after {sent} of "
                f"{options['requests']} requests.)"
            )

    for name in ("stored rows", "intake"):
        share_of_baseline = ratio(
            closed[name].throughput(), closed["baseline"].throughput()
        )
        lines.append(f"{name + '/baseline':<21}{percent(share_of_baseline):>8}")
    lines += [
        "  (stored rows: the rows and the e-mail of intake for one lead, written by",
        "  the same code, with nothing normalised, looked up, scored or routed.)",
    ]
    share = ratio(closed["intake"].throughput(), closed["baseline"].throughput())

    lines += [
        "",
        f"Open loop: {rate:g} requests/s for {duration:g} s per endpoint, latency "
        "from each request's due time.",
        f"{'endpoint':<17}{'answered':>11}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}",
    ]
    for name in ("baseline", "intake"):
        run = opened[name]
        answered = f"{len(run.successes())}/{len(run.samples)}"
        lines.append(
            f"{name:<17}{answered:>11}{ms(run.latency_ms(50)):>10}"
            f"{ms(run.latency_ms(99)):>10}{ms(run.latency_ms(100)):>10}"
        )
    for name, open_run in opened.items():
        lag_ms = open_run.most_behind_seconds * 1000
        if lag_ms > GENERATOR_LAG_WORTH_NOTING_MS:
            lines.append(
                f"  ({name}: the load generator was up to {lag_ms:.0f} ms "
                "late on its schedule; latencies include that.)"
            )

    # The verdict is timed from the client's request: what a rep waits for,
    # queueing in front of the server included.
    email_p99 = seconds_percentile_ms(delays["email_after_request"], 99)
    lines += [
        "",
        f"Submission to notification, intake at {rate:g}/s: {delays['lead_count']} "
        f"leads, {delays['notification_count']} notifications, "
        f"{delays['unsent_count']} e-mails not sent.",
    ]
    for label, values in (
        ("e-mail sent, from the client's request", delays["email_after_request"]),
        ("e-mail sent, from the server's receipt", delays["email_after_received"]),
    ):
        lines.append(
            f"  {label:<52}p50 {ms(seconds_percentile_ms(values, 50)):>8} ms"
            f"   p99 {ms(seconds_percentile_ms(values, 99)):>8} ms"
        )
    lines += [
        "  (The in-app notification commits with the lead, before the answer: its",
        "  delay is the intake's open-loop latency above.)",
    ]

    intake_p99 = opened["intake"].latency_ms(99)
    targets = (
        (
            f"intake throughput >= {MIN_THROUGHPUT_SHARE:.0%} of baseline",
            percent(share),
            None if share is None else share >= MIN_THROUGHPUT_SHARE,
        ),
        (
            f"intake p99 at {rate:g} leads/s < {MAX_P99_AT_RATE_MS:.0f} ms",
            ms(intake_p99) + " ms",
            None if intake_p99 is None else intake_p99 < MAX_P99_AT_RATE_MS,
        ),
        (
            f"submission -> e-mail p99 < {MAX_NOTIFICATION_P99_MS / 1000:g} s",
            ms(email_p99) + " ms",
            None if email_p99 is None else email_p99 < MAX_NOTIFICATION_P99_MS,
        ),
    )
    lines += ["", "Targets:"]
    for label, value, is_met in targets:
        lines.append(f"  {label:<44}{value:>12}   {verdict(is_met)}")
    return "\n".join(lines)
