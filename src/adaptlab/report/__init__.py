"""The run report: one self-contained HTML file (Jinja2 + Plotly) that opens offline.

>>> write_report(results, Path("runs/<run-id>/report.html"))
>>> write_comparison(before, after, Path("comparison.html"))
>>> write_models_report(parent, Path("runs/<parent-run-id>/report.html"))
"""

from adaptlab.report.html import write_comparison, write_models_report, write_report

__all__ = ["write_comparison", "write_models_report", "write_report"]
