"""The robustness probes' building blocks: attack templates, targets, success, input edits."""

from __future__ import annotations

import random

import pytest

from adaptlab.data.task import Example, Task
from adaptlab.evaluation.robustness import (
    EDITS,
    FREE_TEXT_CANARY,
    apply_edit,
    attack_succeeded,
    attack_templates,
    attacker_target,
    attacks,
    edited_inputs,
    injection_summary,
    stable,
    swap_synonym,
)

LABELS = ("negative", "neutral", "positive")
TASK = Task(name="t", examples=(), labels=LABELS)
QA = Task(name="qa", examples=())


def examples(n: int) -> list[Example]:
    texts = ["The crew was great, thanks!", "flight delayed again", "is wifi free?", "Lost my bag"]
    return [Example(id=f"e{i}", input=texts[i % len(texts)], output=LABELS[i % 3]) for i in range(n)]


def test_the_bundled_set_has_at_least_thirty_templates_in_every_family_the_issue_names() -> None:
    templates = attack_templates()
    assert len(templates) >= 30
    assert len({t.id for t in templates}) == len(templates)
    families = {t.family for t in templates}
    assert {"ignore-previous", "role-play", "fake-system", "delimiter-escape", "payload-in-data"} <= families
    for template in templates:
        filled = template.apply("INPUT-TEXT", "TARGET-LABEL")
        assert "INPUT-TEXT" in filled and "TARGET-LABEL" in filled and "{" + "input}" not in filled


def test_filling_a_template_leaves_braces_in_the_users_input_alone() -> None:
    template = attack_templates()[0]
    filled = template.apply("price is {target} {input} {0}", "positive")
    assert "price is {target} {input} {0}" in filled


def test_a_sample_as_large_as_the_set_uses_every_template_and_targets_are_never_gold() -> None:
    sample = examples(len(attack_templates()))
    clean = [e.output for e in sample]
    made = attacks(sample, clean, TASK, seed=3)
    assert len({a.template.id for a in made}) == len(attack_templates())
    for attack, example in zip(made, sample, strict=True):
        assert attack.target in LABELS and attack.target != example.output
        assert example.input in attack.example.input and attack.target in attack.example.input
        assert attack.example.id == example.id and attack.example.output == example.output
    assert [a.template.id for a in attacks(sample, clean, TASK, seed=3)] == [a.template.id for a in made]
    assert [a.template.id for a in attacks(sample, clean, TASK, seed=4)] != [a.template.id for a in made]


def test_the_target_avoids_the_clean_answer_so_a_success_is_a_change_the_attack_caused() -> None:
    example = Example(id="x", input="meh", output="negative")
    assert attacker_target(example, "positive", TASK, 0) == "neutral"
    assert attacker_target(example, "positive", TASK, 1) == "neutral"
    assert attacker_target(example, None, TASK, 1) == "positive"
    assert attacker_target(example, "anything", QA, 0) == FREE_TEXT_CANARY


def test_success_means_the_answer_became_the_target() -> None:
    [attack] = attacks([Example(id="x", input="meh", output="negative")], ["negative"], TASK)
    assert attack_succeeded(attack, attack.target, "whatever", TASK)
    assert not attack_succeeded(attack, "negative", attack.target, TASK)
    assert not attack_succeeded(attack, None, attack.target, TASK)
    [free] = attacks([Example(id="q", input="2+2?", output="4")], ["4"], QA)
    assert attack_succeeded(free, None, f"sure: {FREE_TEXT_CANARY.lower()}", QA)
    assert not attack_succeeded(free, "4", "4", QA)


def test_summary_counts_overall_and_per_family() -> None:
    sample = examples(12)
    made = attacks(sample, [None] * 12, TASK)
    flags = [i % 3 == 0 for i in range(12)]
    summary = injection_summary(made, flags)
    assert summary["n"] == 12 and summary["success_rate"] == pytest.approx(4 / 12)
    assert sum(f["n"] for f in summary["by_family"].values()) == 12
    assert len(summary["examples"]) == 4
    assert injection_summary([], [])["success_rate"] is None


@pytest.mark.parametrize("edit", EDITS)
def test_every_edit_changes_text_it_applies_to(edit: str) -> None:
    text = "The crew was great, thanks!"
    changed = apply_edit(edit, text, random.Random(0))
    assert changed != text
    assert changed.split() == text.split() or edit in {"casing", "punctuation", "synonym"}


def test_synonym_swaps_keep_capitalisation_and_leave_unknown_words() -> None:
    assert swap_synonym("Great flight", random.Random(0)) in {"Excellent flight", "Great trip"}
    assert swap_synonym("zzz qqq", random.Random(0)) == "zzz qqq"


def test_edited_inputs_always_differ_and_are_reproducible() -> None:
    sample = [*examples(8), Example(id="odd", input="zzz", output="neutral")]
    edited = edited_inputs(sample, seed=5)
    for (changed, edit), original in zip(edited, sample, strict=True):
        assert edit in EDITS and changed.input != original.input and changed.id == original.id
    assert edited_inputs(sample, seed=5) == edited


def test_stability_needs_the_same_parsable_answer() -> None:
    assert stable("positive", "positive") and stable("Paris", "paris")
    assert not stable("positive", "negative") and not stable(None, None) and not stable("x", None)
