"""``imagetwins decisions list|forget|export|import`` and ``--ignore-decisions``: what a person decided, remembered
by content (:mod:`imagetwins.decisions`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from imagetwins.cli._common import OutputFile, echo, quiet_option, write_json
from imagetwins.cli._outputs import file_option
from imagetwins.text import counted

ignore_decisions_option = click.option(
    "--ignore-decisions", is_flag=True,
    help="Show every group again: the decisions remembered from earlier plans ('imagetwins decisions list') are "
         "neither applied nor recorded.")
#: ... as 'check' says it: a check reports matches, and what a remembered decision does there is leave one out
check_ignore_decisions_option = click.option(
    "--ignore-decisions", is_flag=True,
    help="Report every match, also of pairs marked 'not a duplicate' in an earlier plan ('imagetwins decisions "
         "list'), which a check otherwise leaves out (with a note saying how many).")

_db_option = click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                          help="The decisions kept in this index file (as 'find --db' keeps them) instead of your "
                               "own store.")


def store_for(db_path: Path | None):
    """The decision store ``find``/``report``/``remove`` use: the index given with ``--db`` carries its own, else
    the user's store."""
    from imagetwins.decisions import DecisionStore
    from imagetwins.locks import link_refused

    if db_path is not None and db_path.is_symlink() and link_refused(db_path) is None:
        # an index reached through a link (a catalogue kept on another disk) is used, as Index uses it: its decisions
        # are its file's (the store refuses a link where none was named: one planted in its place)
        db_path = db_path.resolve()
    return DecisionStore(db_path)


def _refuse_what_is_no_index(db_path: Path) -> None:
    """One error line where the file ``--db`` names can be no index (a FIFO or device, not SQLite, another program's
    database, damaged): its decisions live in it, and the store said first 'the decision store X is not a database
    ...; remembered decisions are not applied this time', a warning about a store the person never named, before
    the index's own error. A file not there yet, an empty one (both made into an index by the run) or an index of
    an older schema (brought up to date by the run's own open) are left to that open."""
    import os
    import stat

    from imagetwins.index import Index, IndexFileError, IndexMismatchError

    try:
        st = os.stat(db_path)
    except (OSError, ValueError):  # (not there, or not to be looked at: left to the run's own open)
        return
    if st.st_size == 0 and stat.S_ISREG(st.st_mode):
        return
    try:
        Index(db_path, methods=[], readonly=True).close()  # (reads only, takes no lock)
    except IndexMismatchError:
        return
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None


def load_remembered(db_path: Path | None, ignore: bool, quiet: bool, strict: bool = False):
    """The remembered decisions for a scan (False: none). A store that cannot be read: with ``strict`` (remove)
    one error line and exit, since going on could move what a person said to keep; else one warning line."""
    from imagetwins.decisions import DecisionStoreError
    from imagetwins.timing import stage

    if db_path is not None:  # (checked as an index first, even with --ignore-decisions: the run uses it next)
        _refuse_what_is_no_index(db_path)
    if ignore:
        return False
    with stage("open"):
        store = store_for(db_path)

    def failed(exc: DecisionStoreError):
        if strict:
            raise click.ClickException(f"{exc}; nothing moved ('--ignore-decisions' goes on without the remembered "
                                       "decisions)") from None
        echo(f"warning: {exc}; remembered decisions are not applied this time", err=True)
        return None

    def loaded(remembered) -> None:
        if remembered.unsure and not quiet:
            echo(f"note: {counted(remembered.unsure, 'remembered decision')} in {store.path} "
                 f"{'makes' if remembered.unsure == 1 else 'make'} no sense (edited by hand?): both files of each "
                 "are kept", err=True)

    # checked now (a store that cannot be opened is one line before any work); read after the scan, only the
    # decisions about the contents it found (a store of a million decisions is not loaded whole)
    try:
        with stage("open"):
            remembered = store.pending()
    except DecisionStoreError as exc:
        return failed(exc) or False
    if remembered is None:
        return False
    remembered.on_error, remembered.on_loaded = failed, loaded
    return remembered


def count_decided_earlier(result) -> dict[str, int]:
    """How many groups of a scan's ``result`` an earlier plan decided, by what was decided: ``"decided"`` (a kept
    file chosen: the others go as decided) and ``"skip"`` (left alone). ``find`` marks them; ``remove`` keeps them as
    decided: its dry run says how many of each (:func:`decided_earlier_line`), so a group no longer listed is not a
    surprise."""
    remembered = result.decided  # None: no store read, or it failed
    if not remembered:
        return {}
    from collections import Counter

    from imagetwins.decisions import key_map

    key_of = key_map(result)
    found = Counter(remembered.status(g.files, key_of) for g in result.groups)
    return {status: found[status] for status in ("decided", "skip") if found[status]}


def decided_earlier_line(counts: dict[str, int]) -> str | None:
    """The line saying what :func:`count_decided_earlier` found ("3 groups decided earlier: 2 keeping the file chosen
    then, 1 left alone (see ...)"), None when none was; it said "moved as decided, or left alone", not which."""
    total = sum(counts.values())
    if not total:
        return None
    parts = [f"{n} " if len(counts) > 1 else "" for n in counts.values()]
    words = {"decided": "keeping the file chosen then", "skip": "left alone"}
    said = ", ".join(part + words[status] for part, status in zip(parts, counts))
    return f"{counted(total, 'group')} decided earlier: {said} (see 'imagetwins decisions list')"


def remember_plan(db_path: Path | None, groups, moves, dry_run: bool, quiet: bool):
    """Keep what a person decided in a plan (:func:`imagetwins.decisions.records_from_plan`), with ``--apply`` only:
    a dry run changes nothing on disk, it says what ``--apply`` would remember, or that it would move nothing where
    the store cannot be read or written (:meth:`~imagetwins.decisions.DecisionStore.unwritable`: found without writing
    it). A store that cannot be written: a warning in a dry run; with --apply an error before anything moves (a later
    scan would not know what was decided). Returns what was written and the rows it replaced
    (:class:`imagetwins.decisions.Remembering`, for ``undo`` to forget them), or None."""
    from imagetwins.decisions import DecisionStoreError, records_from_plan

    store = store_for(db_path)
    records = records_from_plan(groups, moves)
    unsaid = sum(getattr(g, "decided", None) is None for g in groups)
    if dry_run:
        # (what --apply refuses, said now: a store it cannot read or write stops it before anything moves)
        try:
            store.pending()
            unwritable = store.unwritable() if records else None
            why = None if unwritable is None else f"cannot write to the decision store {store.path}: {unwritable}"
        except DecisionStoreError as exc:
            why = str(exc)
        if why is not None and records:
            echo(f"warning: {why}: --apply would move nothing, as the plan's {counted(len(records), 'decision')} could "
                 "not be remembered ('--ignore-decisions' applies the plan without remembering them)", err=True)
        elif why is not None:
            echo(f"warning: {why}: the plan's decisions would not be remembered", err=True)
        elif records and not quiet:
            echo(f"note: --apply would remember {counted(len(records), 'decision')} of this plan in {store.path} "
                 "(a dry run remembers nothing)", err=True)
        return None
    try:
        done = store.remember_undoably(records)
    except DecisionStoreError as exc:
        raise click.ClickException(f"{exc}: the plan's decisions cannot be remembered, so nothing moved "
                                   "('--ignore-decisions' applies the plan without remembering it)") from None
    if records and not quiet:
        echo(f"remembered {counted(len(records), 'decision')} in {store.path} (see 'imagetwins decisions list')",
             err=True)
        if unsaid:
            echo(f"note: this plan does not say which of its groups a person decided (written before 'reviewed' "
                 f"and 'suggested_keep'): {counted(unsaid, 'group')} remembered as they stand ('imagetwins "
                 "decisions forget' takes a decision back)", err=True)
    return done


@click.group()
def decisions() -> None:
    """See, forget, export and import the decisions remembered from your plans.

    'remove --plan --apply' remembers what you decided in a plan (the groups you changed or accepted in the review
    page; in an edited 'find --json', the groups you edited), by the files' contents (SHA-256); 'undo' forgets them:
    two files marked "not a duplicate" are never grouped again, a skipped group shows as decided, and the
    keeper you chose is kept by every later 'remove', after renames, moves, another --method or a cleared
    cache. They live in your user data folder (not the cache); with '--db INDEX' in that index file.

    \b
    Examples:
      imagetwins decisions list
      imagetwins decisions forget ~/Pictures/IMG_0001.jpg     # decisions about this picture's content
      imagetwins decisions export mine.json
      imagetwins decisions import ~/Downloads/imagetwins-decisions.json   # a review page's export, or an export
    """


def _open(db_path: Path | None):
    from imagetwins.decisions import DecisionStoreError

    store = store_for(db_path)
    try:
        return store, store.records()
    except DecisionStoreError as exc:
        raise click.ClickException(str(exc)) from None


@decisions.command("list")
@_db_option
@file_option("json", help="Write them as JSON ('-' for stdout).")
def list_(db_path: Path | None, json_out: Path | None) -> None:
    """Every remembered decision, oldest first, with the names the files had then.

    \b
    Examples:
      imagetwins decisions list
      imagetwins decisions list --db catalogue.db --json -
    """
    from imagetwins.decisions import export_document

    store, records = _open(db_path)
    if json_out is not None:
        write_json(export_document(records, str(store.path)), json_out)
        return
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.made))
        if r.verdict == "keep" and r.keeper in (r.a, r.b):
            kept, other = (r.a_name, r.b_name) if r.keeper == r.a else (r.b_name, r.a_name)
            echo(f"{when}  keep {kept or r.keeper}  over  {other or (r.b if r.keeper == r.a else r.a)}")
        else:
            word = {"not_duplicate": "not a duplicate", "skip": "left alone"}.get(r.verdict, f"? {r.verdict}")
            if r.a == r.b:  # a skipped group's byte-identical copies: none of them moves for being the other
                word = "every byte copy kept"
            echo(f"{when}  {word}: {r.a_name or r.a}  /  {r.b_name or r.b}")
    echo(f"{counted(len(records), 'decision')} in {store.path}")


@decisions.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all", "all_", is_flag=True, help="Forget every decision.")
@_db_option
@quiet_option
def forget(files: tuple[Path, ...], all_: bool, db_path: Path | None, quiet: bool) -> None:
    """Forget the decisions about FILES' contents (or a content's 32 hex digits), or --all.

    \b
    Examples:
      imagetwins decisions forget ~/Pictures/IMG_0001.jpg   # decisions about this picture's content
      imagetwins decisions forget --all
    """
    from imagetwins.decisions import DecisionStoreError, content_key
    from imagetwins.quarantine import sha256_file

    if bool(files) == all_:
        raise click.UsageError("name the files whose decisions to forget, or --all")
    keys = None
    if files:
        keys = set()
        for f in files:
            key = content_key(str(f)) if not f.exists() else None
            if key is None:
                try:
                    key = content_key(sha256_file(f))
                except OSError as exc:
                    raise click.ClickException(f"cannot read {f}: {exc.strerror or exc}") from None
            keys.add(key)
    store = store_for(db_path)
    try:
        gone = store.forget(keys)
    except DecisionStoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        echo(f"forgot {counted(gone, 'decision')}")


@decisions.command()
@click.argument("output", required=False, type=OutputFile(allow_dash=True))
@click.option("--output", "-o", "output_option", type=OutputFile(allow_dash=True), metavar="FILE|-",
              help="The file to write, as 'report -o' takes it (the same as OUTPUT).")
@_db_option
def export(output: Path | None, output_option: Path | None, db_path: Path | None) -> None:
    """Write every remembered decision to OUTPUT (JSON; '-' for stdout), for 'decisions import' elsewhere.

    \b
    Examples:
      imagetwins decisions export mine.json
      imagetwins decisions export -o mine.json
    """
    from imagetwins.decisions import export_document

    if output is not None and output_option is not None:
        raise click.UsageError("give the file to write once: OUTPUT or -o/--output")
    output = output if output is not None else output_option
    if output is None:
        raise click.UsageError("give the file to write: imagetwins decisions export FILE (or -o FILE; '-' for "
                               "stdout)")
    store, records = _open(db_path)
    write_json(export_document(records, str(store.path)), output)


@decisions.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
@quiet_option
def import_(source: Path, db_path: Path | None, quiet: bool) -> None:
    """Remember the decisions of SOURCE: a 'decisions export' file, or a plan (the review page's export, an edited
    'find --json'). A later decision about the same two contents replaces an earlier one.

    \b
    Examples:
      imagetwins decisions import mine.json                   # a 'decisions export' file
      imagetwins decisions import ~/Downloads/imagetwins-decisions.json   # a review page's export
    """
    from imagetwins.decisions import DecisionStoreError, load_export, looks_like_export, records_from_plan
    from imagetwins.plan import PlanError, PlanTooLarge, load_plan, read_plan

    try:  # (read within what a plan may cost: a plan of a million made-up groups was parsed whole here first)
        plan = None if looks_like_export(source) else read_plan(source)
    except PlanTooLarge as exc:
        raise click.ClickException(str(exc)) from None
    except PlanError:
        plan = None  # (no plan: a 'decisions export', whose reading says what is wrong with it; within its own bounds)
    try:
        records = records_from_plan(load_plan(plan)[1]) if plan is not None else load_export(source)
    except (PlanError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        n = store_for(db_path).remember(records)
    except DecisionStoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        echo(f"remembered {counted(n, 'decision')}")
