"""``imagetwins remove DIR`` (dry run, --apply, --plan) and ``imagetwins undo``."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from imagetwins.cli._common import (
    EXIT_ERROR,
    EXIT_REFUSED,
    FolderPath,
    colour_variants_option,
    db_option,
    echo,
    keep_options,
    keep_rule_for,
    quiet_option,
    refuse_db_without_cache,
    refuse_options,
    say_timings,
    scan_options,
    show_progress,
    timings_option,
)
from imagetwins.cli._outputs import Requested, groups_output, output_options
from imagetwins.cli._scan import decide, hint_if_empty, note_keep_in_outside, scan
from imagetwins.cli.decisions import (
    count_decided_earlier,
    decided_earlier_line,
    ignore_decisions_option,
    load_remembered,
    remember_plan,
)
from imagetwins.text import counted, counted_all, printable, shell_word
from imagetwins.timing import stage


@click.command()
@click.argument("directory", required=False, type=FolderPath())
@click.option("--apply", "apply_", is_flag=True, help="Really move the files (default: only show the plan).")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Apply these decisions (from 'find --json' or the review page's Export) instead of scanning: "
                   "the plan must have been made of DIRECTORY, nothing outside DIRECTORY moves, and every file "
                   "and its keeper are checked to be still what was scanned (SHA-256) before it moves; with -m "
                   "copies, a file no check says is a copy of its keeper (a re-shot of a keeper changed by hand, a "
                   "file that cannot be decoded) stays unless the group lists it in move_anyway. Those checks are read "
                   "from the folder's cache, or the index a 'find --db FILE' plan names, and those made now (decoding "
                   "both files) kept there; with --no-cache none is read or kept: every one is made now.")
@click.option("--move-to", type=click.Path(file_okay=False, path_type=Path),
              help="Quarantine folder: a new or empty one, or an earlier quarantine (never a folder of other "
                   "files) [default: DIRECTORY.imagetwins-quarantine/<time> beside DIRECTORY].")
@click.option("--link", "link", type=click.Choice(["clone", "hard", "sym"]), is_flag=False, flag_value="clone",
              default=None,
              help="Also leave the kept picture in each moved file's place, so albums and programs that use the old "
                   "name still find it. clone (what --link alone gives): a copy of its own, sharing the kept "
                   "file's blocks copy-on-write where the file system can (Linux: btrfs, XFS, bcachefs), else a "
                   "real copy (the output says which). hard (same device) and sym (a relative symbolic link) "
                   "SHARE the kept file: a program that writes to the old name changes the kept original too. "
                   "The file itself stays in quarantine; undo takes the clone or link away and puts it back.")
@click.option("--to-trash", is_flag=True,
              help="Send the files to the system trash instead; the journal still goes to the quarantine folder, "
                   "and undo puts them back (Linux: the freedesktop trash, kept by imagetwins; macOS and Windows "
                   "need imagetwins[trash] and the trash's own 'put back').")
@click.option("--merge-metadata", is_flag=True,
              help="Carry what the moved files know and their keeper lacks (capture date, GPS, camera, keywords, "
                   "rating, title, description; from EXIF, IPTC, XMP) into an XMP sidecar beside the keeper "
                   "(IMG.jpg.xmp, read by darktable and digiKam); the keeper's own bytes never change, undo takes the "
                   "sidecar back. Needs imagetwins[xmp] and the Exempi library.")
@output_options("groups")
@keep_options
@scan_options
@db_option(" As 'find --db'; with --plan, the checks of its files are read from this index and its decisions "
           "remembered there (a plan from 'find --db' names its index: used so without it too).")
@colour_variants_option
@ignore_decisions_option
@timings_option
def remove(directory: Path | None, apply_: bool, plan_file: Path | None, move_to: Path | None, link: str | None,
           to_trash: bool, requested: Requested,
           keep_in: tuple[Path, ...], keep_rule: str, method: str, threshold: int | None, recursive: bool,
           workers: int | None, no_cache: bool, quiet: bool, raw_pairs: str = "keep",
           follow_symlinks: bool = False, ignore_decisions: bool = False, merge_metadata: bool = False,
           colour_variants: str = "copies", show_timings: bool = False, db_path: Path | None = None) -> None:
    """Move duplicates out of DIRECTORY into a quarantine folder, keeping one file per group.

    Without --apply nothing is touched: the plan is printed. With --apply files are moved (never
    deleted) with their relative paths, and a manifest (sizes, SHA-256) is written in the quarantine
    folder; 'imagetwins undo' puts everything back. With --plan FILE the decisions come from that file
    (edit which file is 'keep' in a 'find --json' output, or export them from the review page); the
    plan must have been made of DIRECTORY, and nothing outside DIRECTORY moves, whatever the file says.

    A dry run can also write what it found (--json: a plan for --plan; --csv, --ndjson, --report) from
    the same scan; with --apply or --plan those are refused (write them with a dry run or 'find').

    Exit code 0: every file of the plan moved (or, without --apply, would); 1: at least one was refused
    or could not be moved (each is named, then one summary line), or an error; 2: a usage error.

    \b
    Examples:
      imagetwins remove ~/Pictures -r                 # dry run: what would move
      imagetwins remove ~/Pictures -r --json plan.json   # ... and the plan, to edit and apply with --plan
      imagetwins remove ~/Pictures -r --apply
      imagetwins remove ~/Pictures --plan decisions.json --apply
      imagetwins undo ~/Pictures.imagetwins-quarantine/20240101-120000
    """
    if directory is None:
        raise click.UsageError("give the folder to clean: imagetwins remove DIRECTORY [--plan FILE]"
                               if plan_file is None else
                               "name the folder the plan was made of: imagetwins remove DIRECTORY --plan FILE "
                               "(a plan never moves anything outside the folder you name)")
    if link and to_trash:
        raise click.UsageError("--link and --to-trash do not go together (a trashed file's place stays empty)")
    if requested.files and (apply_ or plan_file is not None):
        used = " or ".join(o for o, on in (("--apply", apply_), ("--plan", plan_file is not None)) if on)
        raise click.UsageError(f"{requested.options()[0]} writes what a dry run found: not with {used} (run "
                               "a dry run without them, or use 'imagetwins find')")
    if plan_file is not None:
        # (--workers stays: the files no kept check calls copies of their keepers are checked, on that many threads;
        # --no-cache too: those checks are then all made now, none read from or kept in a cache or the plan's index;
        # --db too: the checks are read from that index and the plan's decisions remembered there, as find --db's)
        refuse_options(["method", "threshold", "recursive", "follow_symlinks", "keep_rule",
                        "keep_in", "raw_pairs", "colour_variants"],
                       "does nothing with --plan: the plan's decisions are applied, nothing is scanned")
    else:
        _refuse_unreviewed(method, directory, recursive)
        keep_rule = keep_rule_for(keep_rule, method)
    refuse_db_without_cache(db_path, no_cache)
    if to_trash:
        from imagetwins.trash import TrashUnavailable, check_trash_usable

        try:
            check_trash_usable()  # (before any scan: send2trash where the trash is not a freedesktop folder)
        except TrashUnavailable as exc:
            raise click.ClickException(str(exc)) from None
    try:
        with _stoppable("nothing moved"), _locked([directory] if apply_ else []):
            _remove(directory, apply_, plan_file, move_to, link, to_trash, requested, keep_in, keep_rule, method,
                    threshold, recursive, workers, no_cache, quiet, raw_pairs, follow_symlinks, ignore_decisions,
                    merge_metadata, colour_variants=colour_variants, db_path=db_path)
    except SystemExit:  # (an exit code that says some file was refused: the time is said all the same)
        say_timings(show_timings)
        raise
    say_timings(show_timings)


def _as_typed(directory: Path, among: Iterable[str] = ()):
    """A function showing a path under ``directory`` as the person named the folder (``family/2023/a.jpg``, as a scan
    of ``family`` lists it): a plan's paths are checked as real, absolute paths (:func:`imagetwins.plan.check_plan`),
    and the dry run of ``--plan`` read otherwise than the scan's. The folder itself is shown as named (a folder of
    copies whose originals lie across ``family``: "each with a copy in family"). A path elsewhere, or already
    relative, is kept. ``among``: every path the run shows; those that would look the same as another (``café.jpg``
    composed and decomposed) are shown with their code points (:func:`imagetwins.text.told_apart`).

    Its ``within(text)`` shows the paths a reason holds likewise (a refusal naming the keeper: "its keeper
    family/a.jpg cannot be trusted", where the plan's real path was printed whole)."""
    from imagetwins.text import told_apart

    real = os.path.realpath(directory)
    typed = os.fspath(directory)
    under = real.rstrip(os.sep) + os.sep

    def as_typed(path: str) -> str:
        path = os.fspath(path)
        if path == real:
            return typed
        if os.path.isabs(path) and path.startswith(real.rstrip(os.sep) + os.sep):
            return os.path.join(typed, os.path.relpath(path, real))
        return path

    apart = told_apart(as_typed(p) for p in among)

    def shown(path: str) -> str:
        return apart(as_typed(path))

    # (a reason's paths are the plan's, under the folder's real path: each shown under the folder as named)
    shown.within = lambda text: text.replace(under, os.path.join(typed, ""))
    return shown


def _say_left_alone(left_alone: dict, quiet: bool, shown=str) -> None:
    """One line per reason something is left alone (:class:`imagetwins.leftalone.LeftAlone`): ``left_alone`` maps
    each to its groups (a whole group's reason) or files; said in the order of the reasons, a file named as
    ``shown`` names it (:func:`_as_typed`: a plan's real path as the folder was named)."""
    from imagetwins.leftalone import LeftAlone

    for why in LeftAlone if not quiet else ():
        if items := left_alone.get(why):
            echo(why.summary(len(items), str(items[0]) if why.whole_group else shown(items[0])), err=why.note)


def _refuse_unreviewed(method: str, directory: Path, recursive: bool) -> None:
    """A usage error when ``method``'s groups are for a person to choose among (``Encoder.removal_needs_review``:
    re-shots), so that nothing is planned for removal from a scan alone, a dry run included (the plan to review is
    what report and find --json write); the line says why and what to do, the commands naming this folder (the
    reason's DIR, with -r where this command has it: the review and the plan must see the same sub-folders) so that
    they can be run as they are."""
    from imagetwins.encoders import get_encoder

    try:
        why = get_encoder(method).removal_needs_review
    except ValueError:  # an unknown method: the scan says so in its own words
        return
    if why:
        folder = shell_word(str(directory))
        # only the scans (report, find, remove without a plan) take -r; remove --plan moves what the plan names,
        # wherever it lies
        todo = re.sub(r"\b(report|find|remove) DIR\b(?! --plan)",
                      lambda m: f"{m[1]} {folder}{' -r' if recursive else ''}", why)
        todo = re.sub(r"\bDIR\b", lambda _: folder, todo)
        raise click.UsageError(f"remove needs --plan with this method, a dry run too: {todo}")


def _remove(directory: Path, apply_: bool, plan_file: Path | None, move_to: Path | None, link: str | None,
            to_trash: bool, requested: Requested, keep_in: tuple[Path, ...], keep_rule: str, method: str,
            threshold: int | None, recursive: bool, workers: int | None, no_cache: bool, quiet: bool, raw_pairs: str,
            follow_symlinks: bool, ignore_decisions: bool, merge_metadata: bool = False,
            colour_variants: str = "copies", db_path: Path | None = None) -> None:
    from imagetwins.quarantine import (
        Interrupted,
        QuarantineError,
        apply_plan,
        check_quarantine,
        default_quarantine,
        keep_link_targets,
        names_elsewhere,
        plan_removal,
    )
    from imagetwins.trash import TrashUnavailable

    plan_read = None  # the plan file, read once: every field below is taken from this one reading of it
    if plan_file is not None:
        from imagetwins.plan import PlanError, read_plan

        try:
            plan_read = read_plan(plan_file)
        except PlanError as exc:
            raise click.ClickException(printable(str(exc))) from None
    if plan_read is not None and not merge_metadata and plan_read.says("merge_metadata") is True:
        merge_metadata = True  # (the review page's "carry the copies' metadata to the keepers")
        if not quiet:
            echo("note: the plan asks to carry the copies' metadata to the keepers (as --merge-metadata)", err=True)
    if merge_metadata:
        from imagetwins.metadata import MetadataUnavailable, _xmp

        try:
            _xmp()
        except MetadataUnavailable as exc:
            raise click.ClickException(str(exc)) from None
    remembered_now = None  # what this run remembered (its undo forgets it)
    if plan_file is not None:
        from imagetwins.plan import check_plan, load_plan, not_copies_of_keepers, plan_index

        try:
            _, groups = load_plan(plan_read, folder=directory)
            index = plan_index(plan_read.says("index"), plan_file)  # (find --db: its checks are read there)
        except PlanError as exc:
            raise click.ClickException(printable(str(exc))) from None
        if db_path is not None:  # (the index named here, before the one the plan names)
            index = _named_index(db_path)
        method = plan_read.says("method")
        # (nothing moves without a check saying it is a copy of its keeper: a keep edited by hand may name a file
        # its group's others are no copy of; a file that cannot be decoded has no check)
        hashed: dict = {}  # (each file's SHA-256 taken once, for the checks and check_plan)
        try:
            leaving = not_copies_of_keepers(groups, method if isinstance(method, str) else None, directory, workers,
                                            index=index, cache=not no_cache, hashed=hashed,
                                            threshold=plan_read.says("threshold"))
        except PlanError as exc:
            raise click.ClickException(f"{printable(str(plan_file))}: {printable(str(exc))}") from None
        if leaving.checked and not quiet:
            echo(_checked_now(leaving, no_cache), err=True)
        shown = _as_typed(directory, [p for path, keeper, _, _ in leaving for p in (path, keeper)])
        for path, keeper, verdict, reason in leaving:
            if not quiet:
                why = (f"by its check a {verdict} of the keeper {shown(keeper)}, not a copy" if verdict is not None
                       else f"{reason}, so nothing says it is a copy of the keeper {shown(keeper)}")
                echo(f"note: leaving {shown(path)} where it is: {why} (list it in its group's move_anyway to move "
                     "it)", err=True)
        checked = check_plan(directory, groups, hashed)
        # (groups left alone: no keeper yet, nobody reviewed them: one line each, not a warning per file: nothing is
        # wrong; the files left alone are said below, for both routes)
        _say_left_alone({why: n for why, n in checked.left_alone.items() if why.whole_group}, quiet)
        plan = checked.to_removal()
        # (the plan's folders and the quarantine refused before its decisions are remembered: a plan refused as
        # malformed, 'folders' must be a list, remembered its groups' decisions all the same, nothing moved)
        folder_moves, folders_refused = _folder_moves(plan_read, directory, plan, link, to_trash)
    quarantine = move_to or default_quarantine(directory)
    try:
        check_quarantine(quarantine, [directory])
    except QuarantineError as exc:
        if move_to is None:  # the default quarantine: not a usage error, one line all the same
            raise click.ClickException(str(exc)) from None
        raise click.BadParameter(str(exc), param_hint="--move-to") from None
    if plan_file is not None and not ignore_decisions:  # what a person decided in the plan sticks, from --apply on
        # (imagetwins.decisions; in the index a find --db plan names, where 'find --db' reads them next: the user's
        # store it never reads had a reviewed catalogue's groups shown as new again)
        remembered_now = remember_plan(db_path if db_path is not None else _plan_decisions_index(index), groups,
                                       checked.moves, not apply_, quiet)
    if plan_file is None:
        note_keep_in_outside(directory, keep_in, quiet)
        result = scan(directory, method, threshold, recursive, workers, no_cache, quiet, db_path,
                      follow_symlinks=follow_symlinks,
                      decisions=load_remembered(db_path, ignore_decisions, quiet, strict=True),
                      colour_variants=colour_variants)
        result = decide(result, keep_rule, keep_in, workers, raw_pairs, directory if follow_symlinks else None,
                        quiet=quiet)
        decisions = result.decisions
        requested.write(groups_output(result, decisions, directory, requested, keep_in, keep_rule, raw_pairs, workers,
                                      quiet))
        plan = plan_removal(result, roots=[directory], keep_in=keep_in, rule=keep_rule, decisions=decisions,
                            raw_sidecars=raw_pairs == "keep", followed_links=follow_symlinks)
    variants: set[str] = set()  # colour variants of their keepers (scores.Mark.RECOLOURED): said on their lines
    if plan_file is None:
        folder_moves, folders_refused = [], []
        variants = {os.path.realpath(f) for g in result.groups for f in g.recoloured}
    else:  # (as the plan says: find --json's group 'recoloured', the review page's export of the keeper picked)
        variants = {os.path.realpath(f) for g in groups for f in g.recoloured}
    plan = keep_link_targets(plan, [directory], link if not to_trash else None)  # (a link to it would lead nowhere)
    # (a plan's paths are real, absolute ones: shown as the scan shows them; look-alike names told apart)
    shown = _as_typed(directory, [p for move in plan.moves for p in (move[0], move[2])]
                      + [p for p, _ in plan.refused + folders_refused] + [m.folder for m in folder_moves]
                      + [p for why, files in plan.left_alone.items() if not why.whole_group for p in files[:1]])
    # (--follow-symlinks, or a plan made with it: never moved through a link)
    _say_left_alone(plan.left_alone, quiet, shown)
    for path, why in plan.refused + folders_refused if not quiet else ():
        echo(f"warning: not moving {shown(path)}: {shown.within(why)}", err=True)
    if not apply_:
        if not quiet and not requested.to_stdout:
            from imagetwins.quarantine import FolderListings

            listings = FolderListings()  # (each folder listed once, not once per file)
            for src, group, keeper in plan.moves:
                sides = _sidecars_with(src, listings) if link is None else []  # (a link keeps the name: they stay)
                colour = ", recoloured: a colour variant of it" if os.path.realpath(src) in variants else ""
                echo(f"would move {shown(src)}   (group {group}, keeping {shown(keeper)}{colour})")
                for side in sides:  # (a line each: echo shows a newline inside a line as \n)
                    echo(f"  with its XMP sidecar {shown(side)}")
            for m in folder_moves:
                sidecars = len(m.files) - len(m.copies)
                echo(f"would move the folder {shown(m.folder)} as a whole ({counted(len(m.copies), 'image')}, each "
                     f"with a copy in {shown(m.copy_of)}"
                     + (f"; and {_sidecars_of(sidecars, len(m.copies))}" if sidecars else "")
                     + ")")
            # the default quarantine is named by the time of --apply, not this run's: say so, not a name never used
            where = ("go to the system trash" if to_trash else f"move to {quarantine}" if move_to is not None
                     else f"move into {quarantine.parent}/<a new folder named by the time of --apply>")
            what = counted_all((len(plan.moves), "file"), (len(folder_moves), "folder"))
            # (clone leaves a file of its own: "a clone link" was no link; the summary of --apply says "a copy")
            linked = ("" if not link else ", each replaced by a copy of the kept file" if link == "clone" else
                      f", each replaced by a {link} link to its kept copy")
            echo(f"dry run: {what} would {where}{linked}; add --apply to do it")
            _note_names_elsewhere([(src, src) for src in names_elsewhere(src for src, _, _ in plan.moves)], shown,
                                  dry_run=True)
            if link:
                _note_format_mismatches([(src, keeper) for src, _, keeper in plan.moves], "would hold", link)
            if plan_file is None:
                decided = decided_earlier_line(count_decided_earlier(result))
                if decided:  # skipped groups and kept keepers move nothing, and are not listed above
                    echo(decided)
                hint_if_empty(result, directory, recursive)
        unwritten = _merge_metadata([(k, src) for src, _, k in plan.moves] + _folder_files_with_keepers(folder_moves),
                                    directory, None, quiet) if merge_metadata else 0
        _exit_if_refused(len(plan.refused), 0, True, quiet, (len(folders_refused), 0), unwritten=unwritten)
        return
    if folder_moves:
        from imagetwins.quarantine import Outcome, apply_folder_moves

        done = None
        try:
            if plan.moves:  # (the files first: a folder never holds a keeper of theirs, see _folder_moves)
                with stage("move"):
                    done = apply_plan(plan, directory, quarantine, link=link, to_trash=to_trash,
                                      progress=show_progress(quiet))
                _applied.append(done.manifest)
            if done is not None and done.stopped:  # (its journal cannot be written: no folder moves either)
                moved = Outcome(manifest=done.manifest, stopped=done.stopped)
            else:
                with stage("move"):
                    moved = apply_folder_moves(folder_moves, directory, quarantine)
            _applied.append(moved.manifest)
        except (QuarantineError, TrashUnavailable) as exc:  # (a quarantine that may not be written in: one line)
            raise click.ClickException(str(exc) if done is None else f"{exc} (the files moved before it: imagetwins "
                                                                      f"undo {shell_word(done.manifest)})") from None
        except Interrupted as stop:
            _stopped(stop, to_trash, quarantine)
        _journal_decisions(remembered_now, moved.manifest, quiet)
        _say_failed(done, shown)
        _say_failed(moved, shown)
        _say_stopped(done, len(plan.moves))
        _say_stopped(moved, len(folder_moves), "folder")
        moved_files = (_moved_with_keepers(plan, done) if done is not None else []) + \
            _folder_files_with_keepers(folder_moves, moved)
        unwritten = _merge_metadata(moved_files, directory, quarantine, quiet) if merge_metadata else 0
        if not quiet and not (done and done.done) and not moved.done:
            echo(f"moved nothing to {quarantine}")  # (each failure said above: no undo of nothing)
        elif not quiet:
            echo(f"moved {counted_all((len(done.done) if done else 0, 'file'), (len(moved.done), 'folder'))} "
                 f"to {quarantine}; undo with: imagetwins undo "
                 f"{shell_word(moved.manifest)}")
            _note_names_elsewhere(done.names_elsewhere() if done else [], shown)
        _exit_if_refused(len(plan.refused), len(done.failed if done else []), False, quiet,
                         (len(folders_refused), len(moved.failed)), len(done.sidecars_left if done else []), done,
                         (_never_tried(done, len(plan.moves)), _never_tried(moved, len(folder_moves))), unwritten)
        return
    if not plan.moves:
        echo("nothing to move")
        if plan_file is None and not quiet:
            hint_if_empty(result, directory, recursive)
        _exit_if_refused(len(plan.refused), 0, False, quiet, (len(folders_refused), 0))
        return
    try:
        with stage("move"):
            out = apply_plan(plan, directory, quarantine, link=link, to_trash=to_trash, progress=show_progress(quiet))
        _applied.append(out.manifest)
    except (QuarantineError, TrashUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    except Interrupted as stop:
        _stopped(stop, to_trash, quarantine)
    _journal_decisions(remembered_now, out.manifest, quiet)
    _say_failed(out, shown)
    _say_stopped(out, len(plan.moves))
    unwritten = _merge_metadata(_moved_with_keepers(plan, out), directory, quarantine, quiet) if merge_metadata else 0
    if not quiet and not out.done:  # (every move failed, each said above: "sent 0 files ...; undo with" undid nothing)
        echo("sent nothing to the system trash" if to_trash else f"moved nothing to {quarantine}")
    elif not quiet:
        echo(_trashed_phrase(len(out.done), quarantine, out.manifest, len(out.sidecars)) if to_trash else
             f"moved {counted(len(out.done), 'file')}"
             + (f" (and {_sidecars_of(len(out.sidecars), len(out.done))})" if out.sidecars
                else "")
             + f" to {quarantine}"
             + (_linked_phrase(link, len(out.linked), out.copied, len(out.done)) if link else "")
             + f"; undo with: imagetwins undo {shell_word(out.manifest)}")
        if link:
            _note_format_mismatches(out.linked, "holds", link)
        _note_names_elsewhere(out.names_elsewhere(), shown)
    _exit_if_refused(len(plan.refused), len(out.failed), False, quiet, sidecars_left=len(out.sidecars_left),
                     moved=out, untried=(_never_tried(out, len(plan.moves)), 0), unwritten=unwritten)


def _note_names_elsewhere(moved: list[tuple[str, str]], shown, dry_run: bool = False) -> None:
    """One note line where files moved (or to move) have other names (hard links) the run leaves, outside the folder:
    ``moved`` is (place, where it lies now) of each (:func:`imagetwins.quarantine.names_elsewhere`)."""
    if not moved:
        return
    place, now = moved[0]
    frees = "moving it would free" if dry_run else "moving it freed"
    look = f"its names: find / -xdev -samefile {shell_word(now)}"
    if len(moved) == 1:
        echo(f"note: {shown(place)} has another name (a hard link) this run does not move: {frees} no space, its "
             f"bytes stay under that name ({look})", err=True)
    else:
        echo(f"note: {len(moved):,} files {'to move' if dry_run else 'moved'} have other names (hard links) this run "
             f"does not move: {frees.replace('it', 'them')} no space, their bytes stay under those names (e.g. "
             f"{shown(place)}: {look})", err=True)


def _say_failed(out, shown) -> None:
    """One line for each file of ``out`` (an Outcome, or None) that could not move, or whose place was left without
    its link after it moved (and the record of the copies made, where it could not be written)."""
    after = set(out.after_move) if out is not None else set()
    for path, why in out.failed if out is not None else ():
        echo(f"error: {shown(path) if path in after else 'could not move ' + shown(path)}: {shown.within(why)}",
             err=True)


def _journal_decisions(remembered, manifest, quiet: bool) -> None:
    """Keep what this run remembered beside its journal, so that ``undo`` forgets it (the user undid the action)."""
    if remembered is None or not remembered.written or manifest is None or not os.path.lexists(manifest):
        return  # (a run that journaled nothing left no quarantine: nothing to undo)
    from imagetwins.quarantine import QuarantineError, write_run_decisions

    try:
        write_run_decisions(manifest, remembered.to_dict())
    except (OSError, QuarantineError) as exc:
        if not quiet:
            why = getattr(exc, "strerror", None) or exc
            echo(f"warning: cannot note the remembered decisions beside the journal ({why}): undo will not forget "
                 "them ('imagetwins decisions forget' does)", err=True)


def _never_tried(out, total: int) -> int:
    """How many of the ``total`` planned moves a run that stopped early (``out.stopped``: its journal could not be
    written) never began: neither moved nor among its failures (those are counted once, as failed: a full disk
    fails files before the journal's turn comes, and '27 files not moved' was said of 16 planned)."""
    if out is None or not out.stopped:
        return 0
    unmoved = len(out.failed) - len(out.after_move) - len(out.sidecars_left)  # (those two moved: said apart)
    return max(0, total - len(out.done) - unmoved)


def _say_stopped(out, total: int, what: str = "file") -> None:
    """One line when the run stopped early because its journal could not be written (a full disk)."""
    if out is not None and out.stopped:
        echo(f"error: {out.stopped}: stopped after {total - _never_tried(out, total):,} of {counted(total, what)}; "
             "the rest stay where they are", err=True)


def _sidecars_with(src: str, listings=None) -> list[str]:
    """The XMP sidecars that would move into the quarantine with ``src`` (for the dry run): regular files only, as
    ``--apply`` moves them (a link or a FIFO there stays, said then)."""
    from imagetwins.quarantine import sidecars_of

    folder, name = os.path.split(src)
    try:
        sides = [os.path.join(folder, s) for s in sidecars_of(folder or ".", name, listings)]
    except OSError:
        return []
    return [s for s in sides if _regular(s)]


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _checked_now(checks, no_cache: bool) -> str:
    """The one line saying that files of a plan were checked against their keepers by decoding them now (what took the
    time), and whether those checks were kept for the next run (``checks``: :class:`imagetwins.plan.KeeperChecks`)."""
    one = checks.checked == 1
    said = (f"note: checked {counted(checks.checked, 'file')} against {'its keeper' if one else 'their keepers'} now, "
            f"decoding {counted(checks.decoded, 'file')}")
    if no_cache:
        return said + " (--no-cache: no check read from or kept in a cache or index)"
    said += f" (no earlier check of {'it' if one else 'them'} was found)"
    if checks.kept_in is not None:
        return said + f"; kept in {printable(checks.kept_in)} for the next run"
    if checks.unkept_in is not None:  # (the store's warning above says why)
        return said + (f"; not kept in {printable(checks.unkept_in)} (see the warning), so the next run checks "
                       f"{'it' if one else 'them'} again")
    if checks.unkept_why is not None:  # (a store there, read and not written: the plan's index, the folder's cache)
        return said + f"; not kept: {checks.unkept_why}, so the next run checks {'it' if one else 'them'} again"
    return said + ("; not kept: this folder has no cache and the run may write no index, so the next run checks "
                   f"{'it' if one else 'them'} again")


def _named_index(db_path: Path):
    """``remove --plan --db FILE``: that index, where the checks of the plan's files are read and those made now kept
    (``plan.PlanIndex`` with its own stamp and ``id``: the person named it); one that cannot be read as an index is an
    error, as ``find --db``'s."""
    from imagetwins.index import Index, IndexFileError
    from imagetwins.plan import PlanIndex

    try:
        opened = Index(db_path, methods=[], readonly=True)
    except IndexFileError as exc:
        raise click.ClickException(printable(str(exc))) from None
    try:
        return PlanIndex(os.path.abspath(db_path), opened.created(), opened.identity())
    finally:
        opened.close()


def _plan_decisions_index(index) -> Path | None:
    """Where ``remove --plan`` without ``--db`` remembers the plan's decisions: the index a ``find --db`` plan names
    (``plan.PlanIndex``) while it is still that index (the random ``id`` the plan recorded, and its ``created``
    stamp), as ``find --db`` reads them; None (the user's store) for a plan naming none, naming no ``id``, or an
    index gone, unreadable or made again since."""
    import sqlite3

    from imagetwins.index import Index, IndexFileError

    if index is None or index.id is None:
        return None
    try:
        opened = Index(index.path, methods=[], readonly=True)
    except (IndexFileError, sqlite3.Error, OSError, ValueError):
        return None
    try:
        same = index.names(opened)
    except sqlite3.Error:
        same = False
    finally:
        opened.close()
    return Path(index.path) if same else None


def _moved_with_keepers(plan, out) -> list[tuple[str, str, str, list[str]]]:
    """(keeper, where each moved file lies now, where it lay, where its XMP sidecars lie now) for the files that did
    move: a sidecar that moved with it and a shared ``IMG.xmp`` that stayed for another file are both read, and what
    still stands beside its old place (a sidecar of a file with a link in its place, one that could not move)."""
    keeper_of = {os.path.realpath(src): k for src, _, k in plan.moves}
    sidecars = out.sidecars_by_image()
    return [(keeper_of[os.path.realpath(src)], dst, src, sidecars.get(src, [])) for src, dst in out.done
            if os.path.realpath(src) in keeper_of and os.path.isabs(dst)]


def _folder_files_with_keepers(folder_moves, moved=None) -> list[tuple[str, ...]]:
    """(the copy kept, each file of a whole folder that moves, where it lies now) for --merge-metadata: the
    copies a folder leaves behind are the keepers of its files. ``moved``: the folders' Outcome (None: a dry
    run, each file where it lies); only folders that did move count, each file read in the quarantine (its
    sidecars moved with it)."""
    where = {src: dst for src, dst in moved.done} if moved is not None else None
    out: list[tuple[str, ...]] = []
    for m in folder_moves:
        if where is not None and m.folder not in where:
            continue
        for f, copy in m.copies.items():
            now = f if where is None else os.path.join(where[m.folder], os.path.relpath(f, m.folder))
            out.append((copy, now))
    return out


def _merge_metadata(moved: list[tuple[str, ...]], directory: Path, quarantine: Path | None, quiet: bool) -> int:
    """--merge-metadata: the keepers' sidecars (a dry run when ``quarantine`` is None); how many could not be
    written (each named)."""
    from imagetwins.metadata import sidecar_writes
    from imagetwins.quarantine import write_sidecars

    unread: list[tuple[str, str]] = []
    writes, refused = sidecar_writes(moved, unread)
    for path, why in unread:
        echo(f"warning: {path}: {why}", err=True)
    for side, why in refused:
        echo(f"warning: no sidecar {side}: {why}", err=True)
    if moved and not writes and not refused and not unread and not quiet:
        # (said, so that a run that writes nothing still shows the flag was honoured)
        echo("no metadata to carry: every keeper already holds what its moved copies hold")
    if quarantine is None:
        for side, _, previous, add in writes if not quiet else ():
            echo(f"would {'add to' if previous is not None else 'write'} {side}: {', '.join(add.names())}")
        return len(refused)
    out = write_sidecars([(side, data, previous) for side, data, previous, _ in writes], directory, quarantine)
    for side, why in out.failed:
        echo(f"error: no sidecar {side}: {why}", err=True)
    if not quiet and writes:
        echo(f"wrote {counted(len(out.done), 'XMP sidecar')} beside the keepers with what the moved files knew and "
             "they lacked (undo takes them back)")
    return len(refused) + len(out.failed)


def _stopped(stop, to_trash: bool, quarantine: Path) -> None:
    """Ctrl-C or SIGTERM during the moves: what failed, one line of what was done and how to undo it, exit."""
    for path, why in stop.outcome.failed:
        echo(f"error: could not move {path}: {why}", err=True)
    where = "to the system trash" if to_trash else f"to {quarantine}"
    _interrupted(stop, f"{'sent' if to_trash else 'moved'} {len(stop.outcome.done):,} of "
                       f"{counted(stop.total, stop.what)} "
                       f"{where} before stopping; undo with: imagetwins undo {shell_word(stop.outcome.manifest)}")


def _sidecars_of(sidecars: int, files: int) -> str:
    """``2 XMP sidecars of them``: the XMP sidecars that moved with ``files`` files ("of it" after one file: "moved 1
    file (and 2 XMP sidecars of them)" read oddly)."""
    return f"{counted(sidecars, 'XMP sidecar')} {'of it' if files == 1 else 'of them'}"


def _trashed_phrase(sent: int, quarantine: Path, manifest: Path | None, sidecars: int = 0) -> str:
    """The summary of ``--to-trash``: how to put the files back (the journal knows where each lies in a
    freedesktop trash, which imagetwins keeps itself; macOS's and Windows' trash do not say)."""
    from imagetwins.trash import FREEDESKTOP

    back = (f"undo with: imagetwins undo {shell_word(manifest)}" if FREEDESKTOP else
            "put them back with the trash's own 'put back'")
    with_them = f" (and {_sidecars_of(sidecars, sent)})" if sidecars else ""
    return f"sent {counted(sent, 'file')}{with_them} to the system trash; journal in {quarantine}; {back}"


def _format_mismatches(places: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(place, the format its name says, the keeper's format) for each ``--link`` place whose extension names
    another format than its keeper's bytes (``Edited/s400.webp`` linked to a JPEG): a program that goes by the
    extension opens the wrong decoder. The keeper's format is read from its header (no decode); the same or an
    equivalent extension (``.jpeg`` for ``.jpg``) is never a mismatch."""
    from PIL import Image

    from imagetwins.io import open_header, open_regular_file

    by_ext = Image.registered_extensions()
    out = []
    for place, keeper in places:
        ext, kext = os.path.splitext(place)[1].lower(), os.path.splitext(keeper)[1].lower()
        named = by_ext.get(ext, ext.lstrip(".").upper() or "no extension")
        if ext == kext or named == by_ext.get(kext, kext.lstrip(".").upper()):
            continue
        try:  # (a regular file only, never waited on: the keeper may have been swapped for a FIFO since the scan)
            with open_regular_file(keeper) as fh, open_header(fh, keeper) as im:
                fmt = im.format or ""
        except Exception:  # (HEIC without its plugin, RAW, gone since: the keeper's extension says it)
            fmt = by_ext.get(kext, kext.lstrip(".").upper())
        if fmt and fmt != named:
            out.append((place, named, fmt))
    return out


def _note_format_mismatches(places: list[tuple[str, str]], verb: str, link: str) -> None:
    """One line per ``--link`` place whose name says another format than the bytes it gets (docs/review.md); what
    ``--link clone`` leaves there is a copy, not a link."""
    what = "copy" if link == "clone" else "link"
    for place, named, fmt in _format_mismatches(places):
        echo(f"note: the {what} {place} {verb} the keeper's {fmt} bytes under a name that says {named}: a program "
             "that goes by the extension may not open it (undo puts the original back)")


def _linked_phrase(link: str, made: int, copied: int, moved: int | None = None) -> str:
    """What ``--link`` left in the moved files' places, for the summary line (``moved``: of how many files, where
    some places got nothing: a full disk)."""
    if made == 0 and moved:
        return ""  # (none: each place is named with the reason)
    each = "each" if moved is None or made >= moved else f"{made:,} of them"
    if link != "clone":
        return f", {each} replaced by a {link} link to its kept copy ({made:,} made), sharing the kept file's bytes"
    if copied == 0:
        return f", {each} replaced by a copy-on-write clone of the kept file ({made:,} made)"
    clones = f"{counted(made - copied, 'copy-on-write clone')} and " if made > copied else ""
    return (f", {each} replaced by a copy of the kept file ({clones}{counted(copied, 'real copy', 'real copies')}: "
            "this file system cannot share blocks, so they take their own space)")


def _folder_moves(plan_read, directory: Path, plan, link: str | None, to_trash: bool) -> list:
    """The plan's whole folders (imagetwins.folders) that may move now, and ``(folder, why)`` for each refused
    one. A folder holding a keeper of the plan's file moves, or whose copies those moves take away, stays.
    ``plan_read``: the plan file as read once (:class:`imagetwins.plan.PlanFile`), not read again."""
    from imagetwins.folders import FolderPlanError, check_folder_plan, load_folder_plan
    from imagetwins.plan import PlanError
    from imagetwins.quarantine import links_leading_to

    try:
        entries = load_folder_plan(plan_read, directory)
    except (PlanError, FolderPlanError) as exc:
        raise click.ClickException(printable(str(exc))) from None
    if entries and (link or to_trash):
        raise click.UsageError("a plan with folders moves them into the quarantine: not with --link or --to-trash")
    moves, refused = check_folder_plan(directory, entries)
    moving = {os.path.realpath(src) for src, _, _ in plan.moves}
    # (a link to the folder itself, to a folder in it or to one of its files would lead nowhere once it moved)
    linked = links_leading_to([directory], [f for m in moves for f in _paths_in(m)]) if moves else {}
    # each path's folders, real paths, once: asked of every pair of folders (and of every keeper), resolving them
    # again each time was quadratic in the folders of a plan (300 folders of 20 photos: 3.6 million realpath calls)
    kept_in: dict[str, str] = {}  # a folder -> a keeper of the plan's file moves inside it
    for k in sorted(os.path.realpath(k) for k in plan.keepers):
        for folder in _folders_above(k):
            kept_in.setdefault(folder, k)
    ok = []
    moving_folders: set[str] = set()  # the real paths of the folders that move
    copies_in: set[str] = set()  # every folder holding a copy that a moving folder leaves behind
    for m in moves:
        folder = os.path.realpath(m.folder)
        copies = [os.path.realpath(c) for c in m.copies.values()]
        lost = [c for c, real in zip(m.copies.values(), copies) if real in moving]
        if folder in kept_in:
            refused.append((m.folder, f"it holds {kept_in[folder]}, which the plan keeps in place of other files"))
        elif lost:
            refused.append((m.folder, f"the plan moves {lost[0]}, a copy this folder leaves behind"))
        elif any(f in moving_folders for c in copies for f in _folders_above(c)) or folder in copies_in:
            refused.append((m.folder, "the plan also moves the folder holding its copies, or one whose copies "
                                           "it holds: one of the two stays"))
        elif any(f in linked for f in _paths_in(m)):
            f = next(f for f in _paths_in(m) if f in linked)
            refused.append((m.folder, f"the symbolic link {linked[f]} leads to "
                                      f"{'it' if f == m.folder else f + ' in it'} and would lead nowhere"))
        else:
            ok.append(m)
            moving_folders.add(folder)
            copies_in.update(f for c in copies for f in _folders_above(c))
    return ok, refused


def _paths_in(m) -> list[str]:
    """The folder a folder move ``m`` takes, each folder in it holding its files, and those files."""
    folders = {m.folder}
    for f in m.files:
        parent = os.path.dirname(f)
        while parent not in folders and len(parent) > len(m.folder):
            folders.add(parent)
            parent = os.path.dirname(parent)
    return [m.folder, *sorted(folders - {m.folder}), *m.files]


def _folders_above(path: str) -> list[str]:
    """The folders holding ``path`` (a real path), innermost first."""
    out = []
    parent = os.path.dirname(path)
    while parent and parent != path:
        out.append(parent)
        path, parent = parent, os.path.dirname(parent)
    return out


def _exit_if_refused(refused: int, failed: int, dry_run: bool, quiet: bool, folders: tuple[int, int] = (0, 0),
                     sidecars_left: int = 0, moved=None, untried: tuple[int, int] = (0, 0), unwritten: int = 0) -> None:
    """``remove``'s summary line and exit code 1 when any file of the plan (or whole folder: ``folders``, refused and
    failed) was refused or failed to move, or was never tried (``untried``, files and folders: the run stopped when
    its journal could not be written; no line names them, so the summary says why instead of "each named above");
    and one line more when an XMP sidecar stayed behind its moved file (``sidecars_left``, counted in ``failed``), or
    ``moved`` (the Outcome) says what went wrong after files moved (``after_move``, counted in ``failed``: no link or
    copy made in their places); ``unwritten``: --merge-metadata's sidecars that were (or would be) not written, each
    named: their files moved (would move) all the same."""
    refused_folders, failed_folders = folders
    after = moved.after_move if moved is not None else []
    failed -= sidecars_left + len(after)
    if moved is not None and moved.no_link:
        one = len(moved.no_link) == 1
        echo(f"error: {counted(len(moved.no_link), 'file')} moved with nothing left in {'its' if one else 'their'} "
             f"place{'' if quiet else ' (each named above)'}; undo puts {'it' if one else 'them'} back", err=True)
    if refused or failed or refused_folders or failed_folders or any(untried):
        said = refused + refused_folders, failed + failed_folders
        named = ", ".join(p for p in (f"{said[0]} refused" if said[0] else "",
                                      f"{said[1]} failed" if said[1] else "") if p)
        if named and not quiet:
            named += ", each named above"
        never = f"{sum(untried)} never tried: the run stopped" if any(untried) else ""
        why = "; ".join(p for p in (named, never) if p)
        what = counted_all((refused_folders + failed_folders + untried[1], "folder"),
                           (refused + failed + untried[0], "file"))
        echo(f"error: {what} {'would not move' if dry_run else 'not moved'} ({why})", err=True)
    if sidecars_left:  # (the files moved; a sidecar of theirs that is a link, a FIFO ... stayed)
        whose = "its file" if sidecars_left == 1 else "their files"
        echo(f"error: {counted(sidecars_left, 'XMP sidecar')} not moved with {whose}"
             f"{'' if quiet else ' (each named above)'}", err=True)
    if unwritten:  # (the keepers' sidecars of --merge-metadata: the files themselves moved)
        echo(f"error: {counted(unwritten, 'XMP sidecar')} {'would not be' if dry_run else 'not'} written beside "
             f"{'its keeper' if unwritten == 1 else 'the keepers'}{'' if quiet else ' (each named above)'}", err=True)
    if refused or failed or refused_folders or failed_folders or sidecars_left or after or any(untried) or unwritten:
        sys.exit(EXIT_REFUSED)



@click.command()
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@quiet_option
def undo(manifest: Path, quiet: bool) -> None:
    """Put back every file that 'imagetwins remove --apply' moved (MANIFEST: the quarantine folder or
    its manifest file). Each file's SHA-256 is checked; nothing is overwritten. Exit code 0: everything
    was restored; 1: anything was refused or could not be restored (each is named, then one summary).

    \b
    Examples:
      imagetwins undo ~/Pictures.imagetwins-quarantine/20260105-142301   # the folder 'remove --apply' named
      imagetwins undo ~/Pictures.imagetwins-quarantine/20260105-142301/manifest.jsonl
    """
    from imagetwins.locks import FolderBusy
    from imagetwins.quarantine import Interrupted, QuarantineError
    from imagetwins.quarantine import undo as undo_moves

    try:
        with _stoppable("nothing restored"):
            out = undo_moves(manifest, progress=show_progress(quiet))
    except (QuarantineError, FolderBusy) as exc:
        raise click.ClickException(str(exc)) from None
    except Interrupted as stop:
        for path, why in stop.outcome.failed:
            echo(f"error: could not restore {path}: {why}", err=True)
        _interrupted(stop, f"restored {len(stop.outcome.done):,} of {counted(stop.total, 'file')} before stopping; "
                           f"the rest is still in {stop.outcome.manifest.parent}: run the same undo again")
    for path, why in out.failed:
        echo(f"error: could not restore {path}: {why}", err=True)
    for record in out.records_left:
        echo(f"note: {record} is not the trash record this run wrote there (another program's, for a file of that "
             "name?): left alone", err=True)
    if out.done or not out.failed:
        _forget_run_decisions(manifest, quiet)
    if out.stopped:
        echo(f"error: {out.stopped}: stopped; run the same undo again once there is room", err=True)
        out.failed.append((str(out.manifest), out.stopped))
    if not quiet or out.failed:
        # (the XMP sidecars that came back with their images apart, as remove said them: "1 file (and 2 XMP
        # sidecars of it)", then "restored 3 files")
        sides, images = len(out.sidecars), len(out.done) - out.folders - len(out.sidecars)
        what = counted_all((images, "file"), (out.folders, "folder"))
        if sides:
            what = (f"{what} (and {_sidecars_of(sides, images + out.folders)})"
                    if images or out.folders else counted(sides, "XMP sidecar"))
        where = out.manifest.parent if out.manifest is not None else manifest
        if not out.done and not out.failed:  # a second undo, or a quarantine nothing was moved into
            echo(f"nothing to restore: every file moved into {where} is back already")
        else:
            # the quarantine keeps its journal (and the folders it made): say so, and that it may go
            kept = "" if out.failed else (f"; {where} now holds only the journal of that run"
                                          + (" and the emptied folders" if _holds_folders(where) else "")
                                          + ": delete it when you like")
            # (a refused journal line and the file it named were counted as 2 failed files: count each kind)
            lines = max(out.lines_refused, len(out.refused_lines))
            files = len(out.failed) - len(out.refused_lines)
            failed = ", ".join(x for x in (f"{files} failed" if files else "",
                                           f"{counted(lines, 'journal line')} refused" if lines else "") if x)
            echo(f"restored {what}" + (f", {failed}" if out.failed else kept), err=bool(out.failed))
    if out.failed:
        sys.exit(EXIT_ERROR)


def _holds_folders(quarantine: Path) -> bool:
    """Whether an undone run's folder still holds the folders its files were moved into (emptied by undo, left
    there: "holds only the journal" while ``ls`` showed folders). Links are not followed; unreadable: no."""
    try:
        with os.scandir(quarantine) as entries:
            return any(e.is_dir(follow_symlinks=False) for e in entries)
    except OSError:
        return False


def _forget_run_decisions(manifest: Path, quiet: bool) -> None:
    """Forget the decisions the undone run remembered (``remove --plan --apply``), and say so in one line."""
    from imagetwins.decisions import DecisionStore, DecisionStoreError, Remembering
    from imagetwins.quarantine import QuarantineError, take_run_decisions

    try:
        doc = take_run_decisions(manifest)
        if doc is None:
            return
        done = Remembering.from_dict(doc)
        gone = DecisionStore(done.store).take_back(done)
    except (QuarantineError, DecisionStoreError, ValueError) as exc:
        echo(f"warning: the decisions that run remembered are kept: {exc} ('imagetwins decisions forget' takes them "
             "back)", err=True)
        return
    if not quiet:
        echo(f"forgot the {counted(gone, 'decision')} that run remembered ('imagetwins decisions list' shows what is "
             "left)")


#: exit status after Ctrl-C (SIGINT) or SIGTERM: 128 + the signal's number, as shells report it
def _exit_status(signum: int) -> int:
    return 128 + signum


def _interrupted(stop, what: str) -> None:
    """One line saying what was done before Ctrl-C or SIGTERM, then exit 130 (143 for SIGTERM)."""
    name = "Ctrl-C" if stop.signum == signal.SIGINT else signal.Signals(stop.signum).name
    echo(f"interrupted ({name}): {what}", err=True)
    sys.exit(_exit_status(stop.signum))


@contextlib.contextmanager
def _stoppable(before: str) -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt as Ctrl-C does while the command runs; one interrupted before any file
    was touched (while scanning, checking a plan) says so and exits 130 (143), not click's bare "Aborted!"."""
    def terminate(signum, frame):
        raise KeyboardInterrupt

    from imagetwins.quarantine import Interrupted

    previous = signal.signal(signal.SIGTERM, terminate)
    terminated = []
    _applied.clear()
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        terminated.append(True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        if _applied:  # after the moves (merging metadata, printing): they are done, and undone with
            echo(f"interrupted after the moves; undo with: imagetwins undo {shell_word(_applied[-1])}", err=True)
        else:
            echo(f"interrupted: {before}", err=True)
        sys.exit(_exit_status(signal.SIGINT))


#: the journals written by this command so far (a Ctrl-C after the moves then names the undo, not "nothing")
_applied: list = []


@contextlib.contextmanager
def _locked(folders: list[Path]) -> Iterator[None]:
    """The folders held for the whole run (before the scan too): a second run says so at once and exits 1."""
    from imagetwins.locks import FolderBusy, changing

    try:
        with changing(folders):
            yield
    except FolderBusy as exc:
        raise click.ClickException(str(exc)) from None
