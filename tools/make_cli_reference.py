"""Write the command-line reference, docs/cli.md, from the CLI's own --help (every command and sub-command).

    python tools/make_cli_reference.py           # write docs/cli.md
    python tools/make_cli_reference.py --check   # exit 1 if docs/cli.md is not what --help says now

tests/test_cli_docs.py fails when the page is stale; the mkdocs hook (docs/hooks.py) renders it the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"
WIDTH = 100  # fixed, so the page does not depend on the terminal it was made in


def _help(command, name: str) -> str:
    import click

    ctx = click.Context(command, info_name=name, terminal_width=WIDTH, max_content_width=WIDTH,
                        help_option_names=["-h", "--help"])  # as the CLI itself declares them
    return command.get_help(ctx)


def render() -> str:
    """The page: ``imagetwins --help``, then each command's ``--help`` (groups' sub-commands after them)."""
    sys.path.insert(0, str(ROOT / "src"))
    from imagetwins.cli import main

    parts = ["# Command line\n",
             "Generated from `imagetwins --help` and each command's `--help` by `tools/make_cli_reference.py`;",
             "do not edit by hand.\n",
             "```text", _help(main, "imagetwins"), "```\n"]

    def walk(group, prefix: str) -> None:
        for name in group.list_commands(None):  # (imagetwins' commands are loaded when asked for)
            cmd = group.get_command(None, name)
            full = f"{prefix} {name}"
            parts.extend([f"## `{full}`\n", "```text", _help(cmd, full), "```\n"])
            if hasattr(cmd, "commands"):
                walk(cmd, full)

    walk(main, "imagetwins")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python tools/make_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
