"""Label mapping: the curated ESC-50 table, every match kind, roll-up scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asttools.errors import ParameterError
from asttools.labels import audioset_labels, descendants, lookup_label
from asttools.labels.mapping import (
    ESC50_CATEGORIES,
    MATCHES,
    esc50_mapping,
    map_labels,
    roll_up_scores,
)


def _index(name: str) -> int:
    return int(lookup_label(name)["index"])


# --- the curated ESC-50 table -----------------------------------------------------------


def test_esc50_categories_are_the_50_in_target_order():
    assert len(ESC50_CATEGORIES) == 50
    assert len(set(ESC50_CATEGORIES)) == 50
    assert ESC50_CATEGORIES[0] == "dog"
    assert ESC50_CATEGORIES[20] == "crying_baby"
    assert ESC50_CATEGORIES[43] == "car_horn"
    assert ESC50_CATEGORIES[49] == "hand_saw"


def test_esc50_table_covers_every_category_with_a_model_output():
    table = esc50_mapping()
    assert list(table["category"]) == list(ESC50_CATEGORIES)
    assert (table["index"] >= 0).all()
    assert table["mid"].is_unique  # 50 distinct targets: no two categories share a unit
    labels = audioset_labels().set_index("index")
    for _, row in table.iterrows():
        assert labels.loc[row["index"], "mid"] == row["mid"]
        assert labels.loc[row["index"], "display_name"] == row["display_name"]


def test_esc50_judgement_calls_carry_a_note():
    notes = esc50_mapping().set_index("category")["note"]
    for category in ("washing_machine", "can_opening", "drinking_sipping", "mouse_click",
                     "rooster", "hen"):
        assert "Judgement call" in notes[category], category


def test_map_labels_maps_all_50_esc50_categories():
    table = map_labels(ESC50_CATEGORIES)
    assert len(table) == 50
    assert list(table["name"]) == list(ESC50_CATEGORIES)
    assert (table["match"] == "esc50").all()
    assert (table["index"] >= 0).all()
    assert table["mid"].notna().all()
    by_name = table.set_index("name")["display_name"]
    assert by_name["dog"] == "Dog"
    assert by_name["car_horn"] == "Vehicle horn, car horn, honking"
    assert by_name["crying_baby"] == "Baby cry, infant cry"
    assert by_name["chirping_birds"] == "Bird vocalization, bird call, bird song"
    assert by_name["cow"] == "Cattle, bovinae"
    assert by_name["mouse_click"] != "Mouse"  # the rodent


def test_esc50_table_is_used_for_other_spellings_and_when_forced():
    table = map_labels(["Car Horn", "crying baby"])
    assert list(table["match"]) == ["esc50", "esc50"]
    forced = map_labels(["hen", "Speech"], dataset="esc50")
    assert list(forced["match"]) == ["esc50", "exact"]
    assert forced["display_name"].iloc[0] == "Cluck"


def test_auto_uses_no_curated_table_when_a_name_is_not_esc50():
    table = map_labels(["hen", "Speech"])
    assert list(table["match"]) == ["unmapped", "exact"]
    off = map_labels(["dog"], dataset=None)
    assert off["match"].iloc[0] == "normalized"


def test_nesting_among_esc50_targets_is_the_documented_four_pairs():
    mids = dict(zip(esc50_mapping()["category"], esc50_mapping()["mid"], strict=True))
    below = {c: set(descendants(m)) for c, m in mids.items()}
    nested = {(a, b) for a in mids for b in mids if a != b and mids[b] in below[a]}
    assert nested == {("insects", "crickets"), ("breathing", "snoring"),
                      ("engine", "chainsaw"), ("washing_machine", "clock_tick")}


# --- each match kind ---------------------------------------------------------------------


def test_exact_by_display_name_and_by_mid():
    table = map_labels(["Dog", "/m/09x0r"], dataset=None)
    assert list(table["match"]) == ["exact", "exact"]
    assert list(table["display_name"]) == ["Dog", "Speech"]
    assert list(table["index"]) == [_index("Dog"), 0]
    assert table["units"].tolist() == [(_index("Dog"),), (0,)]


def test_normalized_ignores_case_punctuation_underscores_and_hyphens():
    table = map_labels(["DOG", "vehicle_horn-car horn,honking", "dental drill dentists drill"],
                       dataset=None)
    assert list(table["match"]) == ["normalized"] * 3
    assert list(table["display_name"]) == [
        "Dog", "Vehicle horn, car horn, honking", "Dental drill, dentist's drill"]


def test_synonym_matches_parts_plurals_and_word_order():
    names = ["car horn", "car_horn", "crying_baby", "dogs", "zipper", "infant cry", "insects"]
    table = map_labels(names, dataset=None)
    assert list(table["match"]) == ["synonym"] * len(names)
    assert list(table["display_name"]) == [
        "Vehicle horn, car horn, honking", "Vehicle horn, car horn, honking",
        "Baby cry, infant cry", "Dog", "Zipper (clothing)",
        "Baby cry, infant cry", "Insect"]


def test_user_mapping_wins_and_accepts_names_or_mids():
    table = map_labels(["Dog", "woof", "meow"],
                       mapping={"Dog": "cat", "woof": "/m/05tny_", "meow": None})
    assert list(table["match"]) == ["user", "user", "unmapped"]
    assert list(table["display_name"].astype(object).fillna("-")) == ["Cat", "Bark", "-"]
    assert table["note"].iloc[2] == "mapped to None by the user"


def test_unmapped_rows_are_kept_in_order():
    table = map_labels(["xylophone solo", "Dog", "zzz"], dataset=None)
    assert list(table["name"]) == ["xylophone solo", "Dog", "zzz"]
    assert list(table["match"]) == ["unmapped", "exact", "unmapped"]
    assert table["mid"].isna().tolist() == [True, False, True]
    assert list(table["index"]) == [-1, _index("Dog"), -1]
    assert table["units"].iloc[0] == ()
    assert set(table["match"]) <= set(MATCHES)


def test_columns_and_dtypes():
    table = map_labels(["Dog"])
    assert list(table.columns) == ["name", "mid", "display_name", "index", "match", "units",
                                   "note"]
    assert table["index"].dtype == np.int64
    empty = map_labels([])
    assert len(empty) == 0 and list(empty.columns) == list(table.columns)


def test_class_that_is_not_an_output_needs_roll_up():
    name = "Domestic sounds, home sounds"
    plain = map_labels([name], dataset=None)
    assert plain["index"].iloc[0] == -1
    assert plain["units"].iloc[0] == ()
    assert "roll_up=True" in plain["note"].iloc[0]
    rolled = map_labels([name], dataset=None, roll_up=True)
    assert _index("Door") in rolled["units"].iloc[0]
    assert _index("Toilet flush") in rolled["units"].iloc[0]


def test_roll_up_units_include_descendants():
    units = map_labels(["Dog"], roll_up=True, dataset=None)["units"].iloc[0]
    assert {_index("Dog"), _index("Bark"), _index("Howl")} <= set(units)


def test_bad_inputs_raise_with_the_value_named():
    with pytest.raises(ParameterError, match=r"mapping\['x'\] = 'Not a class'"):
        map_labels(["x"], mapping={"x": "Not a class"})
    with pytest.raises(ParameterError, match=r"dataset='urbansound'.*'esc50'"):
        map_labels(["dog"], dataset="urbansound")
    with pytest.raises(ParameterError, match=r"got 3 \(int\)"):
        map_labels(["dog", 3])


# --- roll-up scores -----------------------------------------------------------------------


def test_roll_up_scores_take_the_max_over_descendants():
    rng = np.random.default_rng(0)
    probs = rng.random((6, 527)).astype(np.float32) * 0.1
    probs[2, _index("Bark")] = 0.9
    out = roll_up_scores(probs, ["Dog", "/m/01yrx", "Domestic sounds, home sounds"])
    assert out.shape == (6, 3) and out.dtype == np.float32
    dog = [_index(m) for m in [lookup_label("Dog")["mid"], *descendants("Dog")]
           if int(lookup_label(m)["index"]) >= 0]
    np.testing.assert_array_equal(out[:, 0], probs[:, dog].max(axis=1))
    assert out[2, 0] == pytest.approx(0.9)
    home = map_labels(["Domestic sounds, home sounds"], roll_up=True)["units"].iloc[0]
    np.testing.assert_array_equal(out[:, 2], probs[:, list(home)].max(axis=1))


def test_roll_up_scores_accepts_a_result_object_and_checks_shape():
    class Result:
        probs = np.zeros((2, 527), dtype=np.float32)

    assert roll_up_scores(Result(), ["Dog"]).shape == (2, 1)
    with pytest.raises(ParameterError, match=r"shape \(n, 527\).*\(2, 10\)"):
        roll_up_scores(np.zeros((2, 10)), ["Dog"])
    with pytest.raises(ParameterError, match="neither an AudioSet mid"):
        roll_up_scores(np.zeros((2, 527)), ["Not a class"])


def test_map_labels_accepts_a_series():
    table = map_labels(pd.Series(["dog", "rain"]))
    assert list(table["display_name"]) == ["Dog", "Rain"]
