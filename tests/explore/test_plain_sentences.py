"""Each explore result leads with one plain sentence, and calls a difference real only
when its p-value says so; the statistics sit behind "What this means"."""

from explore import plain


def side(users, rate):
    return {"users": users, "rate": rate}


def test_a_real_difference_is_said_as_how_many_times_as_often():
    result = {"a": side(400, 0.31), "b": side(500, 0.15), "p_value": 1e-8}
    assert plain.compare_sentence(result, "Inviters", "Others") == (
        "Inviters succeeded 2.1 times as often as Others: 31.0% vs 15.0%.")
    fewer = {"a": side(400, 0.09), "b": side(500, 0.15), "p_value": 0.001}
    assert plain.compare_sentence(fewer, "Mobile", "Desktop", "did not succeed") == (
        "Mobile did not succeed 40% less often than Desktop: 9.0% vs 15.0%.")


def test_a_difference_chance_could_explain_is_not_called_real():
    result = {"a": side(40, 0.30), "b": side(50, 0.20), "p_value": 0.27}
    sentence = plain.compare_sentence(result, "A", "B")
    assert "chance could explain" in sentence and "times as often" not in sentence
    empty = {"a": side(0, None), "b": side(50, 0.2), "p_value": None}
    assert "no users" in plain.compare_sentence(empty, "A", "B")


def test_a_breakdown_names_its_lowest_and_highest_bucket():
    result = {"p_value": 0.0001, "buckets": [
        {"label": "free", "users": 300, "rate": 0.12}, {"label": "pro", "users": 200, "rate": 0.4},
        {"label": "(none)", "users": 0, "rate": None}]}
    assert plain.breakdown_sentence(result, "plan") == (
        "By plan, the share who succeeded ranges from 12.0% (free) to 40.0% (pro): "
        "these groups really differ.")
    result["p_value"] = 0.4
    assert plain.breakdown_sentence(result, "plan").endswith("could be chance.")


def test_a_confounding_check_says_whether_the_gap_holds():
    base = {"group": side(300, 0.3), "rest": side(700, 0.2)}
    assert plain.stratify_sentence({**base, "simpson": True}, "plan").endswith(
        "within each plan bucket the gap turns the other way.")
    assert "part of that gap" in plain.stratify_sentence({**base, "confounding": True}, "plan")
    assert plain.stratify_sentence(base, "plan").endswith("leaves that gap much as it is.")

