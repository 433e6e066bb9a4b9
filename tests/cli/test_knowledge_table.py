"""The console's knowledge table: a decision over documents prints its rungs by book."""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console

from adaptlab.cli.tables import print_decision
from adaptlab.decide import CostSettings, recommend
from knowledge_results import knowledge_run


def printed(decision: dict, width: int = 80) -> str:
    out = io.StringIO()
    print_decision(Console(file=out, width=width, force_terminal=True, color_system=None), decision)
    return out.getvalue()


def test_a_decision_over_documents_prints_its_knowledge_table_within_80_columns() -> None:
    output = printed(recommend(knowledge_run(), CostSettings()).to_dict())

    table = output.split("Knowledge: closed vs open book (scores 0-100)")[1]
    assert max(cell_len(line) for line in table.splitlines()) <= 80
    rag_line = next(line for line in table.splitlines() if line.startswith("rag-3 "))
    assert rag_line.split() == ["rag-3", "open", "85.0", "100.0", "70.0", "90.0", "440"]
    docs_line = next(line for line in table.splitlines() if line.startswith("docs-lora-426 "))
    assert docs_line.split() == ["docs-lora-426", "docs-tuned", "15.0", "30.0", "0.0", "–", "40"]
    assert "R@3: share of questions with their gold passage in the top 3" in table


def test_a_decision_without_knowledge_prints_no_knowledge_table() -> None:
    decision = recommend(knowledge_run(), CostSettings()).to_dict()
    decision.pop("knowledge")

    assert "Knowledge" not in printed(decision)
