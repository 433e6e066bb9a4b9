from decide_results import correct_first, make_rung

from adaptlab.decide.plateau import prompt_plateau


def ladder(*rights: int) -> list[dict]:
    names = ["zero-shot", "instruction-detailed", "few-shot-4", "few-shot-8", "search"]
    return [make_rung(names[i], "prompt", correct_first(right)) for i, right in enumerate(rights)]


def test_prompting_has_plateaued_when_the_last_two_rungs_gain_inside_the_interval() -> None:
    plateau = prompt_plateau(ladder(100, 140, 142, 139))

    assert plateau.plateaued
    assert plateau.verdict is not None
    assert (plateau.verdict.rung, plateau.verdict.vs) == ("few-shot-4", "instruction-detailed")
    assert plateau.verdict.low <= 0
    assert "few-shot-4" in plateau.explanation and "includes zero" in plateau.explanation
    assert "95% CI" in plateau.explanation


def test_prompting_has_not_plateaued_while_the_latest_rung_still_gains() -> None:
    plateau = prompt_plateau(ladder(100, 104, 102, 160))

    assert not plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.rung == "few-shot-8"
    assert plateau.verdict.significant
    assert "real improvement" in plateau.explanation


def test_rungs_that_got_worse_count_as_a_plateau() -> None:
    plateau = prompt_plateau(ladder(100, 160, 120, 110))

    assert plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.worse
    assert "worse" in plateau.explanation


def test_fewer_than_three_prompt_rungs_are_not_enough_evidence() -> None:
    plateau = prompt_plateau(ladder(100, 101))

    assert not plateau.plateaued
    assert plateau.verdict is None
    assert "Only 2 prompt rungs" in plateau.explanation
    assert [row.rung for row in plateau.rows] == ["zero-shot", "instruction-detailed"]


def test_each_rung_is_compared_with_the_best_rung_before_it() -> None:
    plateau = prompt_plateau(ladder(100, 150, 120, 155))

    rows = plateau.to_dict()["rungs"]
    assert [row["best_before"] for row in rows] == [
        None,
        "zero-shot",
        "instruction-detailed",
        "instruction-detailed",
    ]
    assert rows[0]["gain"] is None and rows[0]["gain_low"] is None
    assert rows[2]["gain"] == -0.15
    assert rows[3]["gain"] == 0.025
    assert rows[3]["gain_low"] <= rows[3]["gain"] <= rows[3]["gain_high"]
