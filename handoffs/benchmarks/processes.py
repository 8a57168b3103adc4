"""The servers of one bench run: gunicorn and a Celery worker, stopped at the end.

Each process starts in a session of its own, so a Ctrl-C in the terminal
reaches only the bench, which then stops them in order: a web worker killed
mid-request by the terminal would show up as an error in the numbers.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis
from django.core.management.base import CommandError

from bowtie.environment import REPOSITORY_ROOT

STOP_TIMEOUT_SECONDS = 15
LOG_TAIL_LINES = 30


def check_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as error:
        raise CommandError(
            f"Redis is not reachable at {url}: {error}\nStart it, or set "
            "REDIS_URL (or --redis-url) to a server the bench may use."
        ) from None


def check_port_is_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As gunicorn binds: closed connections of a previous run do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandError(
                f"{host}:{port} is taken ({error.strerror}); choose another with "
                "--port."
            ) from None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class ProcessGroup:
    """Start named processes with their output in log files; stop them all."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def run(self, name: str, args: list[str], timeout: float) -> None:
        """Run a command to its end, failing with its log if it fails."""
        with self.log_path(name).open("ab") as log:
            try:
                finished = subprocess.run(
                    [sys.executable, *args],
                    cwd=REPOSITORY_ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise CommandError(f"{name} took more than {timeout:.0f} s.") from None
        if finished.returncode != 0:
            raise CommandError(
                f"{name} failed with exit code {finished.returncode}:\n"
                + log_tail(self.log_path(name))
            )

    def start(self, name: str, args: list[str]) -> None:
        with self.log_path(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPOSITORY_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise CommandError(
                    f"{name} stopped with exit code {process.returncode}:\n"
                    + log_tail(self.log_path(name))
                )

    def wait_for_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running()
            try:
                httpx.get(url, timeout=2, trust_env=False)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise CommandError(f"Nothing answered at {url} within {timeout:.0f} s.")

    def wait_for_log_line(self, name: str, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running()
            if text in self.log_path(name).read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise CommandError(
            f"{name} was not ready within {timeout:.0f} s:\n"
            + log_tail(self.log_path(name))
        )

    def stop(self) -> None:
        """Ask every process to stop, wait a little, then kill what is left."""
        for process in self.processes.values():
            self.signal_group(process, signal.SIGTERM)

        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)

        # Children that outlived their parent (a web worker, a pool thread's
        # process) are still in the group the parent led.
        for process in self.processes.values():
            self.signal_group(process, signal.SIGKILL)
        self.processes.clear()

    @staticmethod
    def signal_group(process: subprocess.Popen, signum: int) -> None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass


def cpu_table() -> dict[int, tuple[int, float]]:
    """Parent and CPU seconds used so far (user + system) of every process.

    Read from /proc; empty where there is none. A process that ends between
    two readings drops out, so a difference of two readings is a lower bound.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return {}

    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after it.
        fields = text[text.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / ticks
        table[int(entry.name)] = (int(fields[1]), used)
    return table


def machine_busy_seconds() -> float | None:
    """CPU seconds every processor has spent busy since boot, from /proc/stat.

    Idle and waiting on I/O do not count; everything else does, the kernel's
    own work on the network and the disk included.
    """
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(table: dict[int, tuple[int, float]], root: int) -> float:
    """CPU seconds of a process and all its descendants."""
    chosen = {root} if root in table else set()
    while True:
        children = {pid for pid, (parent, _) in table.items() if parent in chosen}
        if children <= chosen:
            break
        chosen |= children
    return sum(table[pid][1] for pid in chosen)


def cpu_seconds_between(before: dict, after: dict, pids: list[int]) -> float:
    """CPU the processes used between two readings; new ones count in full."""
    return sum(
        after[pid][1] - (before[pid][1] if pid in before else 0.0)
        for pid in pids
        if pid in after
    )
