"""``flask jobs``: run the worker, run one job now, plan the periodic jobs, list failures."""

from __future__ import annotations

import json

import click
from flask import current_app

from marketplace.jobs import get_runner
from marketplace.jobs.runners import RQRunner
from marketplace.jobs.tasks import JOBS, run_job


@click.group("jobs")
def jobs_cli() -> None:
    """Background jobs (RQ on Redis with REDIS_URL, in-process otherwise)."""


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued (and due scheduled) jobs, then exit.")
@click.option("--name", default=None, help="Worker name (default: host and pid).")
def worker(burst: bool, name: str | None) -> None:
    """Start an RQ worker with RQ's scheduler (make worker); plans the periodic jobs first."""
    runner = get_runner()
    if not isinstance(runner, RQRunner):
        raise click.ClickException("REDIS_URL is not set: jobs run inside the web process (nothing to start)")
    planned = runner.plan()
    click.echo(f"queue {runner.queue.name} on {runner.url.rsplit('@', 1)[-1]}; planned {len(planned)} periodic runs")
    runner.worker(name).work(burst=burst, with_scheduler=True, logging_level="INFO")


@jobs_cli.command("run")
@click.argument("name", type=click.Choice(sorted(JOBS)))
def run(name: str) -> None:
    """Run one job now, in this process (one unit of work), whatever REDIS_URL says."""
    result = run_job(current_app._get_current_object(), name)  # type: ignore[attr-defined]
    click.echo(json.dumps(result, ensure_ascii=False, default=str))


@jobs_cli.command("enqueue")
@click.argument("name", type=click.Choice(sorted(JOBS)))
def enqueue(name: str) -> None:
    """Put one job on the queue (in-process: run it now)."""
    click.echo(get_runner().enqueue(name) or "not queued: Redis unavailable")


@jobs_cli.command("plan")
def plan() -> None:
    """Schedule the next run of every periodic job (idempotent; workers also do it)."""
    runner = get_runner()
    if not isinstance(runner, RQRunner):
        raise click.ClickException("REDIS_URL is not set: the in-process scheduler plans nothing")
    for job_id in runner.plan():
        click.echo(job_id)


@jobs_cli.command("failed")
def failed() -> None:
    """List failed jobs (the same list as /admin/jobs)."""
    for failure in get_runner().failures():
        last = failure.error.strip().splitlines()[-1] if failure.error.strip() else ""
        click.echo(f"{failure.id}\t{failure.name}\t{failure.failed_at}\t{last}")
