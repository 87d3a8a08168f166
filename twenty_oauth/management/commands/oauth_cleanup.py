"""
``manage.py oauth_cleanup``: delete expired codes, device grants and tokens, ended grants, and
dynamically registered clients never authorized within ``--unused-client-days`` (default 30).

Safe to run from cron while the server runs: rows go in batches of ``--batch-size``, each in
its own short transaction, with a rest of ``--pause`` seconds between batches (by default, on
SQLite, twice as long as the batch took; see ``twenty_oauth.cleanup``). For example, every hour::

    17 * * * *  cd /srv/site && python manage.py oauth_cleanup --verbosity 0
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from twenty_oauth import cleanup

#: A hundred years: further back than any client, and within what a date can hold.
MAX_DAYS = 36500


class Command(BaseCommand):
    help = (
        "Delete expired authorization codes, device grants and tokens, ended grants, and self-registered "
        "clients that were never authorized. Safe to run while the server runs; prints what it deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--unused-client-days",
            type=int,
            default=cleanup.DEFAULT_UNUSED_CLIENT_DAYS,
            metavar="DAYS",
            help="Delete dynamically registered clients never authorized within this many days "
            "of registering (default %(default)s; 0 keeps them all).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=cleanup.DEFAULT_BATCH_SIZE,
            metavar="ROWS",
            help="Rows deleted per transaction (default %(default)s).",
        )
        parser.add_argument(
            "--pause",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Rest between batches so that the server's writes get their turn (default: on "
            "SQLite, which locks the whole database for a write, twice as long as the batch took; "
            "elsewhere none).",
        )

    def handle(
        self, *args, dry_run: bool, unused_client_days: int, batch_size: int, pause: float | None, **options
    ):
        if not 0 <= unused_client_days <= MAX_DAYS:
            raise CommandError(f"--unused-client-days must be between 0 and {MAX_DAYS}.")
        if not 1 <= batch_size <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100000.")
        if pause is not None and not 0 <= pause <= 60:
            raise CommandError("--pause must be between 0 and 60 seconds.")
        verbosity = options["verbosity"]
        found = cleanup.targets(unused_client_days=unused_client_days)
        labels = {target.model_label: target.label for target in found}
        deleted = dict.fromkeys(labels, 0)
        for target in found:
            if dry_run:
                deleted[target.model_label] = target.queryset.count()
                continue
            for batch in cleanup.delete_in_batches(target.queryset, batch_size, pause):
                for model, count in batch.items():
                    deleted[model] = deleted.get(model, 0) + count
                if verbosity >= 2 and batch:
                    self.stdout.write(f"  … {deleted[target.model_label]} {target.label} so far")
        if verbosity >= 1:
            verb = "Would delete" if dry_run else "Deleted"
            for model, label in labels.items():
                self.stdout.write(f"{verb} {deleted[model]} {label}.")
            total = sum(deleted.values())
            done = f"{total} rows would be deleted (dry run)." if dry_run else f"{total} rows deleted."
            self.stdout.write(self.style.SUCCESS(done))
