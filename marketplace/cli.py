"""``flask`` sub-commands (thin: they call services). A command that writes is one unit of work
(:func:`marketplace.unit_of_work.transactional`): committed once when it returns, rolled back when
it fails; commands never commit themselves."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app

from marketplace import audit, search, unit_of_work
from marketplace.extensions import db
from marketplace.indexing import count_public
from marketplace.jobs.cli import jobs_cli
from marketplace.mail import TemporaryMailFailure, send_pending
from marketplace.matching import evaluation, freshness
from marketplace.matching.report import format_report, quality_report
from marketplace.models import User
from marketplace.notifications import jobs
from marketplace.reference_data import ensure_reference_data
from marketplace.search import sync


def register_cli(app: Flask) -> None:
    """Add the command groups to the app."""
    app.cli.add_command(seed_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(match_cli)
    app.cli.add_command(jobs_cli)


@click.group("seed")
def seed_cli() -> None:
    """Load reference or demo data."""


@seed_cli.command("reference")
@unit_of_work.transactional
def seed_reference() -> None:
    """Insert or refresh districts, domains and themes (idempotent)."""
    ensure_reference_data(db.session.connection())
    click.echo("reference data loaded")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--seed", default=2025, show_default=True, help="Random seed (the data set is deterministic).")
def seed_demo(if_empty: bool, seed: int) -> None:
    """Create the demo data set and the demo accounts (never in production)."""
    if current_app.config["MARKETPLACE_ENV"] == "production":
        raise click.ClickException("refusing to load demo data when MARKETPLACE_ENV=production")
    summary = _load_demo(if_empty, seed)
    if summary is None:
        return
    for name, count in summary.items():
        click.echo(f"{name}: {count}")
    _reindex()  # from the committed data


@unit_of_work.transactional
def _load_demo(if_empty: bool, seed: int) -> dict[str, int] | None:
    """Load the demo data set as one unit of work; ``None`` when ``--if-empty`` finds users already."""
    # Imported here: the demo corpus modules take ~90 ms to import and only this command needs them.
    from marketplace.demo.seed import load_demo

    if db.session.execute(sa.select(User.id).limit(1)).first():
        if if_empty:
            click.echo("database already has data; demo data not loaded")
            return None
        raise click.ClickException("the database already has users; demo data goes into an empty database only")
    return load_demo(db.session, seed=seed, progress=click.echo)


@click.group("audit")
def audit_cli() -> None:
    """Audit log commands."""


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check every link and keyed hash of the audit chain against the signed checkpoints in
    AUDIT_CHECKPOINT_FILE; exit 1 naming what is wrong (edited, deleted or inserted rows, a truncated
    tail, a recomputed chain, a forged checkpoint)."""
    report = audit.verify(db.session)
    if report.ok:
        click.echo(f"audit chain intact: {report.count} events")
        if report.checkpoint is not None:
            click.echo(f"matches checkpoint of {report.checkpoint.at} ({report.checkpoint.count} events, head "
                       f"event {report.checkpoint.head_id}); {report.unanchored} newer events not yet anchored")
    else:
        where = f" at event {report.broken_at}" if report.broken_at is not None else ""
        click.echo(f"audit chain BROKEN{where}: {report.reason}", err=True)
        raise SystemExit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Append a signed checkpoint of the current chain head (written after every commit anyway; use it
    once after upgrading, after `flask audit verify` found the chain intact)."""
    report = audit.verify_chain(db.session)
    if not report.ok:
        click.echo(f"audit chain BROKEN at event {report.broken_at}: {report.reason}; no checkpoint written",
                   err=True)
        raise SystemExit(1)
    checkpoint = audit.write_checkpoint()
    if checkpoint is None:
        click.echo("no audit events yet")
    else:
        click.echo(f"checkpoint written: {checkpoint.count} events, head event {checkpoint.head_id}")


@click.group("outbox")
def outbox_cli() -> None:
    """E-mail outbox commands."""


@outbox_cli.command("send")
@unit_of_work.transactional
def outbox_send() -> None:
    """Send pending e-mail over the configured SMTP server."""
    if not current_app.config.get("MAIL_SERVER"):
        click.echo("MAIL_SERVER is not set: messages are written to the log and kept in the outbox table")
        return
    try:
        sent, failed = send_pending(db.session)
    except TemporaryMailFailure as error:  # keep what went out; the rest stays pending
        click.echo(f"sent {error.sent}; SMTP temporarily unavailable, the rest stays pending: {error}", err=True)
        return
    click.echo(f"sent {sent}, failed {failed}")


@click.group("notifications")
def notifications_cli() -> None:
    """Notification jobs. Both are idempotent and safe to run from cron, even concurrently."""


@notifications_cli.command("scan")
@click.option("--hours", type=click.IntRange(1, 24 * 90), default=None,
              help="Remind followers this many hours before the deadline (default: REMINDER_HOURS, 48).")
@unit_of_work.transactional
def notifications_scan(hours: int | None) -> None:
    """Deadline reminders for followed scenarios, and new scenarios matching saved searches."""
    report = jobs.scan(db.session, hours=hours)
    click.echo(f"deadline reminders: {report.reminders}; saved searches checked: {report.searches_checked}, "
               f"notifications: {report.search_notifications} ({report.matched_scenarios} new scenarios)")


@notifications_cli.command("digest")
@unit_of_work.transactional
def notifications_digest() -> None:
    """E-mail each "daily digest" user their un-e-mailed notifications of the last day (once per local day)."""
    report = jobs.send_daily_digests(db.session)
    click.echo(f"digests sent: {report.users} ({report.notifications} notifications); "
               f"already sent today: {report.skipped_today}")


@click.group("search")
def search_cli() -> None:
    """Site search index commands (the database is the source of truth)."""


def _reindex() -> int:
    """Rebuild the search index from the database with a progress bar; returns the document count.
    Reads only: nothing to commit."""
    backend = search.get_backend()
    if isinstance(backend, search.NullBackend):
        click.echo("search is off (SEARCH_BACKEND=none): nothing to index")
        return 0
    with click.progressbar(length=count_public(db.session), label=f"indexing ({backend.name})", show_pos=True) as bar:
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            bar.update(count - done)
            done = count

        try:
            count = sync.reindex(db.session, backend, progress)
        except search.SearchUnavailable as error:
            raise click.ClickException(f"search index could not be rebuilt: {error}") from None
    click.echo(f"search index rebuilt: {count} documents")
    return count


@search_cli.command("reindex")
@click.option("--if-unavailable", is_flag=True,
              help="Only when the index is not usable (missing, corrupt, a stopped rebuild): for `make run`.")
def search_reindex(if_unavailable: bool) -> None:
    """Rebuild the whole search index from the database (repairs a missing or corrupt index)."""
    if if_unavailable:
        state = search.index_state()
        if state["state"] in ("ok", "off", "rebuilding"):
            click.echo(f"search index {state['state']} ({state['backend']}): nothing to do")
            return
    _reindex()


@search_cli.command("check")
@click.option("--limit", default=20, show_default=True, help="Keys listed per kind of problem.")
def search_check(limit: int) -> None:
    """Report records missing from the index, stale in it, or indexed but no longer public; exit 1 if any."""
    backend = search.get_backend()
    try:
        report = sync.check(db.session, backend)
    except Exception as error:  # missing or corrupt index
        click.echo(f"search index unreadable: {error}; run `flask search reindex`", err=True)
        raise SystemExit(1) from None
    if report.ok:
        click.echo(f"search index up to date ({backend.name})")
        return
    for name, keys in (("missing", report.missing), ("stale", report.stale), ("orphaned", report.orphaned)):
        if keys:
            shown = ", ".join(f"{t}:{i}" for t, i in sorted(keys)[:limit])
            more = f" … (+{len(keys) - limit})" if len(keys) > limit else ""
            click.echo(f"{name}: {len(keys)} — {shown}{more}", err=True)
    click.echo("run `flask search reindex` to repair the index", err=True)
    raise SystemExit(1)


@click.group("match")
def match_cli() -> None:
    """Matching models (推荐企业, 为你推荐, near-duplicate scenarios) and their offline evaluation."""


@match_cli.command("rebuild")
@click.option("--jobs", "n_jobs", default=-1, show_default=True,
              help="Tokeniser processes for large corpora (-1: all CPUs).")
def match_rebuild(n_jobs: int) -> None:
    """Bump the model version and refit every matching model; web workers load the saved files."""
    _bump_models()
    cache = freshness.get_cache()
    names = list(freshness.MODEL_KEYS)
    built = []
    with click.progressbar(names, label="fitting matching models", show_pos=True,
                           item_show_func=lambda n: n or "") as bar:
        for name in bar:
            built.append(cache.rebuild(db.session, name, n_jobs=n_jobs))  # reads only
    for entry in built:
        click.echo(f"{entry.name}: {entry.meta.get('documents', 0)} documents, {entry.stamp.token}, "
                   f"{entry.meta.get('seconds', 0.0):.2f} s")
    click.echo(f"saved to {cache.model_dir}")


@unit_of_work.transactional
def _bump_models() -> None:
    """Bump the firm and scenario model versions, committed before the models are refitted (so web
    workers see that their loaded models are stale)."""
    freshness.bump(db.session, [freshness.FIRMS, freshness.SCENARIOS])


@match_cli.command("evaluate")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--variants", default="", help="Also on restructured copies: 'all' or a comma-separated list.")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE",
              help="Set a matcher option for this run (repeatable), e.g. --option topic_weight=16.")
def match_evaluate(path: str, variants: str, options: tuple[str, ...]) -> None:
    """Offline nDCG@10 / recall@10 / MRR of TF-IDF vs BM25 on DIR (firms.jsonl, scenarios.jsonl, qrels.tsv)."""
    try:
        evaluation.parse_options(options)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--option") from None
    status = evaluation.main([path, "--variants", variants, *(f"--option={o}" for o in options)])
    if status:
        raise SystemExit(status)


@match_cli.command("report")
@click.option("--weakest", default=10, show_default=True, help="Weakest scenarios listed with their suggestions.")
def match_report(weakest: int) -> None:
    """Self-check over the open scenarios: domain fit, noise and exclusion terms shown, "not relevant" marks,
    the weakest scenarios; the last line is one JSON object."""
    report = quality_report(db.session, weakest=weakest)
    click.echo(format_report(report))
