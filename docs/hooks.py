"""mkdocs hooks: the CLI reference comes from the CLI's own --help (tools/make_cli_reference.py), the benchmarks
page from BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def on_pre_build(config, **kwargs) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_cli_reference", ROOT / "tools" / "make_cli_reference.py")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    (ROOT / "docs" / "cli.md").write_text(reference.render(), encoding="utf-8")  # the same page as checked in
    bench = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    bench = "\n".join(line for line in bench.splitlines() if not line.startswith("<!--"))
    (ROOT / "docs" / "benchmarks.md").write_text(bench, encoding="utf-8")
