"""mkdocs hooks: the CLI reference comes from the CLI's own --help, the benchmarks page from BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _help(command, name: str) -> str:
    import click

    ctx = click.Context(command, info_name=name)
    return command.get_help(ctx)


def on_pre_build(config, **kwargs) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "src"))
    from imagetwins.cli import main

    parts = ["# Command line\n", "Generated from `imagetwins --help` and each command's `--help`.\n",
             "```text", _help(main, "imagetwins"), "```\n"]

    def walk(group, prefix: str) -> None:
        for name, cmd in sorted(group.commands.items()):
            full = f"{prefix} {name}"
            parts.extend([f"## `{full}`\n", "```text", _help(cmd, full), "```\n"])
            if hasattr(cmd, "commands"):
                walk(cmd, full)

    walk(main, "imagetwins")
    (ROOT / "docs" / "cli.md").write_text("\n".join(parts), encoding="utf-8")
    bench = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    bench = "\n".join(line for line in bench.splitlines() if not line.startswith("<!--"))
    (ROOT / "docs" / "benchmarks.md").write_text(bench, encoding="utf-8")
