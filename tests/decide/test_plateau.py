import pytest
from decide_results import correct_first, make_rung, with_draws

from adaptlab.decide.plateau import elaboration, prompt_plateau


def ladder(*rights: int) -> list[dict]:
    names = ["zero-shot", "instruction-detailed", "few-shot-4", "few-shot-8", "search"]
    return [make_rung(names[i], "prompt", correct_first(right)) for i, right in enumerate(rights)]


def test_prompting_has_plateaued_when_the_best_gains_inside_the_interval_over_simpler_prompts() -> None:
    plateau = prompt_plateau(ladder(100, 140, 142, 139))

    assert plateau.plateaued
    assert plateau.verdict is not None
    assert (plateau.verdict.rung, plateau.verdict.vs) == ("few-shot-4", "instruction-detailed")
    assert plateau.verdict.low <= 0
    assert "few-shot-4" in plateau.explanation and "includes zero" in plateau.explanation
    assert "over the best simpler one, instruction-detailed" in plateau.explanation
    assert "95% CI" in plateau.explanation


def test_prompting_has_not_plateaued_while_the_most_elaborate_rung_still_gains() -> None:
    plateau = prompt_plateau(ladder(100, 104, 102, 160))

    assert not plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.rung == "few-shot-8"
    assert plateau.verdict.significant
    assert "real improvement" in plateau.explanation


def test_elaborate_prompts_that_score_worse_than_a_simple_one_count_as_a_plateau() -> None:
    plateau = prompt_plateau(ladder(100, 160, 120, 110))

    assert plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.worse
    assert (plateau.verdict.rung, plateau.verdict.vs) == ("few-shot-4", "instruction-detailed")
    assert "is among the simplest" in plateau.explanation and "worse" in plateau.explanation


def test_fewer_than_three_prompt_rungs_are_not_enough_evidence() -> None:
    plateau = prompt_plateau(ladder(100, 101))

    assert not plateau.plateaued
    assert plateau.verdict is None
    assert "Only 2 prompt rungs" in plateau.explanation
    assert [row.rung for row in plateau.rows] == ["zero-shot", "instruction-detailed"]


def test_each_rung_is_compared_with_the_best_strictly_simpler_rung() -> None:
    plateau = prompt_plateau(ladder(100, 150, 120, 155))

    rows = plateau.to_dict()["rungs"]
    # zero-shot and an instruction variant are equally simple: neither is compared with the other.
    assert [row["best_before"] for row in rows] == [
        None,
        None,
        "instruction-detailed",
        "instruction-detailed",
    ]
    assert rows[0]["gain"] is None and rows[0]["gain_low"] is None
    assert rows[2]["gain"] == -0.15
    assert rows[3]["gain"] == 0.025
    assert rows[3]["gain_low"] <= rows[3]["gain"] <= rows[3]["gain_high"]


def test_the_verdict_does_not_depend_on_the_order_the_rungs_ran_in() -> None:
    """A rung run last is not thereby the most elaborate: label scoring and search ran after
    eight similar demos in a real run, and label scoring is a bare question."""
    rungs = [
        make_rung("few-shot-knn-8", "prompt", correct_first(120)),
        make_rung("zero-shot", "prompt", correct_first(60)),
        make_rung("label-scoring", "prompt", correct_first(30)),
        make_rung("few-shot-random-4", "prompt", correct_first(90)),
    ]
    verdicts = set()
    for shift in range(len(rungs)):
        plateau = prompt_plateau(rungs[shift:] + rungs[:shift])
        assert plateau.verdict is not None
        verdicts.add((plateau.plateaued, plateau.verdict.rung, plateau.verdict.vs, plateau.explanation))
    ((plateaued, rung, vs, explanation),) = verdicts
    assert (plateaued, rung, vs) == (False, "few-shot-knn-8", "few-shot-random-4")
    assert "label-scoring" not in explanation


def test_the_order_of_elaboration() -> None:
    names = [
        "search",
        "few-shot-knn-8",
        "few-shot-knn-4",
        "few-shot-random-8",
        "cot",
        "label-scoring",
        "zero-shot",
    ]
    ordered = sorted(names, key=lambda name: elaboration({"rung": name}))
    assert ordered == [
        "label-scoring",
        "zero-shot",
        "cot",
        "few-shot-random-8",
        "few-shot-knn-4",
        "few-shot-knn-8",
        "search",
    ]


def random_demo_ladder(random_draws: tuple[float, ...], knn_draws: tuple[float, ...] = ()) -> list[dict]:
    """zero-shot 50%, instruction-detailed 51%, few-shot-random-4 60% (18 examples more than the
    instruction, a paired gain whose interval excludes zero), then few-shot-knn-4 at 55%;
    few-shot-random-4 also scored `random_draws` under other demo draws."""
    return [
        make_rung("zero-shot", "prompt", correct_first(100)),
        make_rung("instruction-detailed", "prompt", correct_first(102)),
        with_draws(make_rung("few-shot-random-4", "prompt", correct_first(120)), *random_draws),
        with_draws(make_rung("few-shot-knn-4", "prompt", correct_first(110)), *knn_draws),
    ]


def test_a_gain_another_demo_draw_could_close_is_noise_and_prompting_has_plateaued() -> None:
    """few-shot-random-4 gains 9.0 points over instruction-detailed (51%), beyond the interval;
    but two other demo draws scored 48% and 66%: instruction-detailed lies within that range, so
    the gain is the luck of the draw."""
    rungs = random_demo_ladder((0.48, 0.66))
    without_draws = prompt_plateau([{k: v for k, v in r.items() if k != "draws"} for r in rungs])
    assert not without_draws.plateaued and without_draws.verdict is not None
    assert without_draws.verdict.low > 0

    plateau = prompt_plateau(rungs)

    assert plateau.plateaued
    verdict = plateau.verdict
    assert verdict is not None and (verdict.rung, verdict.vs) == ("few-shot-random-4", "instruction-detailed")
    assert verdict.low > 0 and verdict.gain == pytest.approx(0.09)
    assert not verdict.significant and verdict.within_draw_spread
    assert verdict.draws is not None and verdict.draws.spread == pytest.approx(0.18)
    assert (
        "gains +9.0 points over the best simpler one, instruction-detailed" in plateau.explanation
        and "instruction-detailed's 51.0% is within the range of few-shot-random-4 across 3 demo draws"
        " (48.0%–66.0%, a 18.0-point spread), so the difference is noise and prompting has plateaued."
        in plateau.explanation
    )


def test_a_rung_below_every_demo_draw_is_beaten_whatever_the_spread() -> None:
    """The draws spread 14 points (52%–66%), more than the 9-point gain, but every draw beats
    instruction-detailed's 51%: random demos help, whichever are drawn."""
    plateau = prompt_plateau(random_demo_ladder((0.52, 0.66)))

    assert not plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.significant
    assert not plateau.verdict.within_draw_spread
    assert (
        "a real improvement, and instruction-detailed's 51.0% is below the range of few-shot-random-4"
        " across 3 demo draws (52.0%–66.0%, a 14.0-point spread), so more elaborate prompts may"
        " still pay" in plateau.explanation
    )


def test_the_larger_spread_of_the_two_rungs_compared_decides() -> None:
    """few-shot-knn-4 beats few-shot-random-4 (its best simpler rung) by 10 points; the
    random rung's draws spread 4 points, the kNN rung's own 12: the larger one makes it noise."""
    rungs = [
        make_rung("zero-shot", "prompt", correct_first(90)),
        with_draws(make_rung("few-shot-random-4", "prompt", correct_first(100)), 0.48, 0.52),
        with_draws(make_rung("few-shot-knn-4", "prompt", correct_first(120)), 0.48),
    ]

    plateau = prompt_plateau(rungs)

    assert plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.vs == "few-shot-random-4"
    assert (
        "few-shot-random-4's 50.0% is within the range of few-shot-knn-4 across 2 demo draws"
        " (48.0%–60.0%, a 12.0-point spread)" in plateau.explanation
    )


def test_among_the_simplest_a_loss_inside_the_demo_draw_spread_is_not_called_worse() -> None:
    """zero-shot is best; few-shot-random-4 scores 8 points less, beyond the interval, but its
    own draws spread 10 points: not worse beyond the noise, and still a plateau."""
    rungs = [
        make_rung("zero-shot", "prompt", correct_first(120)),
        make_rung("instruction-terse", "prompt", correct_first(110)),
        with_draws(make_rung("few-shot-random-4", "prompt", correct_first(104)), 0.62),
    ]

    plateau = prompt_plateau(rungs)

    assert plateau.plateaued
    assert plateau.verdict is not None and plateau.verdict.high < 0 and not plateau.verdict.worse
    assert "worse beyond the noise" not in plateau.explanation
    assert (
        "zero-shot's 60.0% is within the range of few-shot-random-4 across 2 demo draws"
        " (52.0%–62.0%, a 10.0-point spread), which is noise" in plateau.explanation
    )


def pruned_entry(rung: str, score: float, best: str = "few-shot-knn-4", best_score: float = 0.6) -> dict:
    """A ``selection.pruned`` entry: `rung` scored `score` on a 20-example dev screen."""
    return {"rung": rung, "examples": 20, "score": score, "best": best, "best_score": best_score}


def test_rungs_pruned_on_dev_count_among_those_tried_and_are_cited() -> None:
    rungs = [
        make_rung("few-shot-random-4", "prompt", correct_first(115)),
        make_rung("few-shot-knn-4", "prompt", correct_first(145)),
    ]
    pruned = [pruned_entry("zero-shot", 0.2), pruned_entry("label-scoring", 0.1)]
    assert "Only 2 prompt rungs measured" in prompt_plateau(rungs).explanation

    plateau = prompt_plateau(rungs, pruned)

    assert not plateau.plateaued and plateau.verdict is not None and plateau.verdict.vs == "few-shot-random-4"
    assert plateau.explanation.endswith(
        "Simpler prompts pruned on 20 dev examples as worse beyond the noise: zero-shot (20.0% against"
        " 60.0% for few-shot-knn-4) and label-scoring (10.0% against 60.0% for few-shot-knn-4)."
    )


def test_a_best_rung_whose_simpler_rungs_were_all_pruned_has_not_plateaued() -> None:
    rungs = [make_rung("few-shot-knn-4", "prompt", correct_first(145))]
    plateau = prompt_plateau(rungs, [pruned_entry("zero-shot", 0.2), pruned_entry("cot", 0.15)])
    assert not plateau.plateaued
    assert plateau.explanation.startswith(
        "The best prompt rung, few-shot-knn-4 (72.5%), is more elaborate than prompts pruned on 20 dev"
        " examples as worse beyond the noise — zero-shot (20.0% against 60.0% for few-shot-knn-4)"
    )


def test_a_pruned_rung_more_elaborate_than_the_best_is_only_counted() -> None:
    """instruction-detailed is best among two bare questions; a pruned kNN rung makes three
    tried (a verdict instead of "only 2 measured"), and is not cited as beaten by a simpler one."""
    rungs = random_demo_ladder(())[:2]
    plateau = prompt_plateau(rungs, [pruned_entry("few-shot-knn-8", 0.1, "instruction-detailed")])
    assert "Only 2 prompt rungs" not in plateau.explanation and "pruned" not in plateau.explanation
    assert plateau.explanation.startswith("Every prompt rung is as simple as instruction-detailed")
