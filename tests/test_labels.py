"""AudioSet labels and ontology shipped as package data."""

from __future__ import annotations

import pytest

import asttools
from asttools.errors import ParameterError
from asttools.labels import ancestors, short_label


def test_527_classes_in_output_order():
    table = asttools.audioset_labels()
    assert table.shape == (527, 3)
    assert table["index"].tolist() == list(range(527))
    assert table.loc[0, "display_name"] == "Speech"
    assert table["mid"].is_unique


def test_ontology_holds_every_output_class_and_the_abstract_ones():
    onto = asttools.audioset_ontology()
    assert len(onto) == 632
    assert (onto["index"] >= 0).sum() == 527
    assert onto.loc["/m/0dgw9r", "abstract"]  # "Human sounds"
    assert onto.loc["/m/0dgw9r", "index"] == -1
    # parents are the inverse of children
    for mid, row in onto.sample(50, random_state=0).iterrows():
        for child in row["children"]:
            assert mid in onto.loc[child, "parents"]


@pytest.mark.parametrize("key", ["Dog", "dog", " DOG ", "/m/0bt9lr"])
def test_lookup_by_name_or_mid(key):
    row = asttools.lookup_label(key)
    assert (row["mid"], row["name"], row["index"]) == ("/m/0bt9lr", "Dog", 74)


def test_lookup_unknown_name_says_what_to_do():
    with pytest.raises(ParameterError, match="'Dgo' is neither an AudioSet mid nor a class"):
        asttools.lookup_label("Dgo")


def test_descendants_and_ancestors():
    names = {asttools.lookup_label(m)["name"] for m in asttools.descendants("Dog")}
    assert {"Bark", "Howl", "Growling"} <= names
    assert "Dog" not in names
    assert asttools.descendants("Dog", include_self=True)[0] == "/m/0bt9lr"
    animal = asttools.descendants("Animal")
    assert "/m/0bt9lr" in animal and len(animal) == len(set(animal))
    up = [asttools.lookup_label(m)["name"] for m in ancestors("Bark")]
    assert up[:2] == ["Dog", "Domestic animals, pets"] and "Animal" in up
    assert asttools.descendants("Bark") == []


def test_credits_ship_with_the_data():
    from importlib import resources

    credits = resources.files("asttools").joinpath("data").joinpath("CREDITS.md").read_text()
    assert "CC BY-SA 4.0" in credits


def test_short_label_cuts_at_the_first_comma_unless_that_is_ambiguous():
    assert short_label("Bird vocalization, bird call, bird song") == "Bird vocalization"
    assert short_label("Female speech, woman speaking") == "Female speech"
    assert short_label("Speech") == "Speech"
    assert short_label("Inside, small room") == "Inside, small room"  # Inside, ... x3
    names = asttools.audioset_labels()["display_name"].tolist()
    shorts = [short_label(n) for n in names]
    assert len(set(shorts)) == len(names)  # still one name per class
