"""What a folder holds, byte for byte, for tests that check nothing was lost or changed by an action."""

from __future__ import annotations

import hashlib
from pathlib import Path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_digests(folder: Path) -> dict[str, str]:
    """Every regular file under ``folder`` (relative POSIX name -> SHA-256); symbolic links left out."""
    return {p.relative_to(folder).as_posix(): _digest(p)
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def name_digests(folder: Path) -> dict[str, str]:
    """Every name under ``folder`` that reaches a file (relative POSIX name -> SHA-256), a symbolic link to a
    file counted with its target's bytes."""
    return {p.relative_to(folder).as_posix(): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}
