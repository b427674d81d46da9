"""imagededup-compatible helpers: ``from imagetwins.utils import plot_duplicates``."""

from imagetwins.report import plot_duplicates

__all__ = ["plot_duplicates"]
