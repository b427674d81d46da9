"""The mark of a folder imagetwins writes outputs into (the review page's ``<page>_files/`` thumbnails): the file
:data:`OUTPUT_FOLDER_MARK` says the folder is the tool's, and records, per output, each file written there (name,
inode, size). :mod:`imagetwins.writing` writes and reads it; :mod:`imagetwins.io`'s scan leaves out the files it
records (:func:`recorded_outputs`), and nothing else of that folder. Imports nothing of imagetwins but
:mod:`imagetwins.text`."""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from imagetwins.text import loads_json

__all__ = ["MARK_MAX_BYTES", "OUTPUT_FOLDER_MARK", "Written", "parse_records", "plain_name", "read_records",
           "recorded_outputs"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

#: the file that marks an output folder as made by imagetwins (its files may be replaced by the next output)
OUTPUT_FOLDER_MARK = ".imagetwins-output"


class Written(NamedTuple):
    """What an output folder's mark records of a file the tool wrote there (:func:`imagetwins.writing.write_in_folder`):
    a file at that name with another inode or size is someone else's since, and never removed."""

    inode: int
    size: int


#: the most bytes of an output folder's mark read (its record of the files written there)
MARK_MAX_BYTES = 64 * 1024 * 1024


def plain_name(name: object) -> bool:
    """A name in the folder itself (no separator, not '.', '..' nor the mark): what a record may name for removal."""
    return (isinstance(name, str) and name not in ("", ".", "..", OUTPUT_FOLDER_MARK) and "/" not in name
            and os.sep not in name and "\0" not in name)


def parse_records(text: bytes) -> dict[str, dict[str, Written]]:
    """A mark's records: each output (a page's name) -> the files it wrote there. An older mark's single
    ``written`` record is the output ``""`` (whichever page writes there next takes it for its own)."""
    def files(of: object) -> dict[str, Written]:
        if not isinstance(of, dict):
            return {}
        return {name: Written(int(v[0]), int(v[1])) for name, v in of.items()
                if plain_name(name) and isinstance(v, list) and len(v) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in v)}

    try:
        doc = loads_json(text) if text.strip() else {}
        if not isinstance(doc, dict):
            return {}
        found = {str(k): files(v) for k, v in doc.get("pages", {}).items()} if isinstance(doc.get("pages"), dict) \
            else {}
        if "written" in doc:
            found[""] = {**found.get("", {}), **files(doc["written"])}
        return {k: v for k, v in found.items() if v}
    except (ValueError, AttributeError, TypeError):
        return {}


def read_records(folder_fd: int) -> dict[str, dict[str, Written]]:
    """:func:`parse_records` of the mark of the open folder ``folder_fd`` (none where it is a link, not a regular
    file, larger than :data:`MARK_MAX_BYTES` or unreadable)."""
    try:
        fd = os.open(OUTPUT_FOLDER_MARK, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0),
                     dir_fd=folder_fd)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MARK_MAX_BYTES:
            return {}
        with open(os.dup(fd), "rb") as fh:
            text = fh.read(MARK_MAX_BYTES + 1)
    except OSError:
        return {}
    finally:
        os.close(fd)
    return parse_records(text)


def recorded_outputs(folder: str | os.PathLike) -> set[tuple[str, int, int]]:
    """Every file the mark of the output ``folder`` records, for any output, as ``(name, inode, size)``: what a scan
    leaves out of a folder imagetwins wrote (its thumbnails), and nothing else (a mark planted in a folder of photos
    records none of them). Empty where there is no readable mark or the folder is a link."""
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return set()
    try:
        return {(name, w.inode, w.size) for files in read_records(fd).values() for name, w in files.items()}
    finally:
        os.close(fd)
