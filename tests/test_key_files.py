"""The two keys this user keeps in files (a quarantine's ``manifest.key``, which signs its journal; the key of stored
rows, which signs kept pair scores) are made and read by one helper (``ownfolders.make_key`` / ``read_key``): each
appears whole or not at all, and is kept where the file system holds no hard links."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import byte_copies_album

from imagetwins import rowkeys
from imagetwins.cli import main
from imagetwins.userdirs import data_folder


def _never_half_written(monkeypatch, path: Path) -> list[int]:
    """While a key's bytes are made, ``path`` must not be there yet (a run reading it then read 0 bytes)."""
    seen: list[int] = []
    made = secrets.token_bytes

    def token_bytes(n: int) -> bytes:
        seen.append(path.stat().st_size if os.path.lexists(path) else -1)
        return made(n)

    monkeypatch.setattr(secrets, "token_bytes", token_bytes)
    return seen


@pytest.mark.cli
def test_a_quarantine_key_appears_whole(tmp_path: Path, monkeypatch) -> None:
    album = byte_copies_album(tmp_path)
    q = tmp_path / "q"
    seen = _never_half_written(monkeypatch, q / "manifest.key")
    res = CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    assert seen and -1 in seen and not [s for s in seen if s >= 0]  # (was 0: the empty key file in place)
    assert len((q / "manifest.key").read_bytes()) == 32
    assert sorted(p.name for p in q.iterdir() if p.name.startswith("manifest.key")) == ["manifest.key"]


@pytest.mark.unit
@pytest.mark.parametrize("no_links", [errno.EPERM, errno.EOPNOTSUPP])
def test_the_key_of_stored_rows_is_kept_without_hard_links(tmp_path: Path, monkeypatch, no_links: int,
                                                           recwarn) -> None:
    """A data folder on a file system without hard links (os.link refused) kept no key: every run signed with a
    key of its own, and each said its kept scores were trusted by that run only."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    def link(src, dst, *a, **k):
        raise OSError(no_links, os.strerror(no_links))

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(rowkeys, "_keys", {})
    key = rowkeys.row_key()
    path = data_folder() / rowkeys.KEY_NAME
    assert not [w for w in recwarn if "trusted by this run only" in str(w.message)]
    assert path.read_bytes() == key and (path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [rowkeys.KEY_NAME]  # (the one written aside is gone)


@pytest.mark.unit
def test_a_key_of_another_length_is_refused_by_both(tmp_path: Path, monkeypatch) -> None:
    from imagetwins.ownfolders import UnsafeFolder, make_key, read_key

    path = tmp_path / "k.key"
    make_key(path)
    assert len(read_key(path, "a key")) == 32
    key = read_key(path, "a key")
    make_key(path)  # (there: kept)
    assert read_key(path, "a key") == key
    path.write_bytes(b"k" * 31)
    with pytest.raises(UnsafeFolder, match="not a key"):
        read_key(path, "a key")
