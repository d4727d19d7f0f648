"""Names, categories and colors of imported models, without meshes: the lexicon file, real GSO
titles and categories, protocol-buffer text metadata, shading-robust color words, and unique
names that do not depend on import order (about 2 s)."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from simedit.render.catalog.importers.colour import classify, color_words
from simedit.render.catalog.importers.gso import read_texts
from simedit.render.catalog.importers.lexicon import lexicon, singular
from simedit.render.catalog.importers.naming import Texts, propose_name, strip_fuel_id
from simedit.render.catalog.importers.unique import dedupe_names
from simedit.render.catalog.importers.pbtxt import annotations, first, parse
from simedit.render.common.colorspace import linear_to_srgb
from simedit.render.common.paths import BUILTIN_CATALOG

# real GSO model names with their GSO category -> what a person calls the object
REAL_GSO = [
    ("Kong_Puppy_Teething_Rubber_Small_Pink", "Consumer Goods", "dog toy", "toy"),
    ("Vans_Cereal_Honey_Nut_Crunch_11_oz_box", "Consumer Goods", "cereal box", "box"),
    ("Perricone_MD_Chia_Serum", "Consumer Goods", "serum bottle", "bottle"),
    ("ACE_Coffee_Mug_Kristen_16_oz_cup", "Consumer Goods", "coffee mug", "cup"),
    ("Room_Essentials_Mug_White_Yellow", None, "mug", "cup"),
    ("11pro_SL_TRX_FG", "Shoe", "football boot", "shoe"),
    ("Reebok_CLASSIC_JOGGER", "Shoe", "jogger", "shoe"),
    ("Mens_ASV_Billfish_Boat_Shoe_in_Dark_Brown_Leather_zdHVHXueI3w", "Shoe", "boat shoe", "shoe"),
    ("UGG_Bailey_Button_Womens_Boots_Black_7", "Shoe", "boot", "shoe"),
    ("Hasbro_Monopoly_Hotels_Game", "Board Games", "board game", "game"),
    ("Kid_Icarus_Uprising_Nintendo_3DS_Game", "Media Cases", "video game", "box"),
    ("Hey_You_Pikachu_Nintendo_64", "Consumer Goods", "video game", "box"),
    ("Razer_Kraken_Pro_headset_Full_size_Black", "Headphones", "headset", "headphones"),
    ("Razer_Naga_MMO_Gaming_Mouse", "Mouse", "gaming mouse", "mouse"),
    ("Schleich_Lion_Action_Figure", "Action Figures", "lion", "figure"),
    ("Lovable_Huggable_Cuddly_Boutique_Teddy_Bear_Beige", "Stuffed Toys", "teddy bear", "toy"),
    ("Threshold_Bead_Cereal_Bowl_White", "Consumer Goods", "cereal bowl", "bowl"),
    ("Top_Paw_Dog_Bowl_Blue_Paw_Bone_Ceramic_25_fl_oz_total", None, "dog bowl", "bowl"),
    ("Circo_Fish_Toothbrush_Holder_14995988", "Consumer Goods", "toothbrush holder", "cup"),
    ("Ecoforms_Plant_Container_12_Pot_Nova", None, "plant container", "pot"),
    ("KS_Chocolate_Cube_Box_Assortment_By_Neuhaus_2010_Ounces", "Consumer Goods", "box", "box"),
    ("Diet_Pepsi_Soda_Cola12_Pack_12_oz_Cans", "Consumer Goods", "soda pack", "box"),
    ("Brisk_Iced_Tea_Lemon_12_12_fl_oz_355_ml_cans_144_fl_oz_426_lt", "Consumer Goods", "drink pack", "box"),
    ("U_By_Kotex_Sleek_Regular_Unscented_Tampons_36_Ct_Box", "Consumer Goods", "tampon box", "box"),
    ("Phillips_Milk_of_Magnesia_Saline_Laxative_Liquid_Original", "Consumer Goods", "medicine bottle", "bottle"),
    ("Lutein", "Bottles and Cans and Cups", "bottle", "bottle"),
    ("Horses_in_Pink_Pencil_Case", "Bag", "pencil case", "bag"),
    ("Playmates_Industrial_CoSplinter_Teenage_Mutant_Ninja_Turtle_Action_Figure", "Action Figures", "ninja turtle", "figure"),
    ("Calphalon_Kitchen_Essentials_12_Cast_Iron_Fry_Pan_Black", None, "fry pan", "pan"),
    ("OXO_Soft_Works_Can_Opener_SnapLock", None, "can opener", "utensil"),
    ("LEGO_City_Advent_Calendar", "Legos", "advent calendar", "game"),
    ("CITY_TAXI_POLICE_CAR", "Toys", "police car", "vehicle"),
    ("Squirrel", None, "squirrel", "figure"),
]


@pytest.mark.parametrize("title,category,name,noun_category", REAL_GSO)
def test_real_gso_titles(title: str, category: str | None, name: str, noun_category: str) -> None:
    p = propose_name(Texts(title=title, category=category))
    assert (p.name, p.category) == (name, noun_category), p.how


def test_model_words_before_the_collection_category() -> None:
    # "Consumer Goods" names nothing: a quarter of GSO would be "box"
    assert propose_name(Texts(title="Krill_Oil", category="Consumer Goods")).name == "oil bottle"
    p = propose_name(Texts(title="Cold_Plasma", category="Consumer Goods"))
    assert (p.name, p.category) == ("cold plasma", "object") and "no known noun" in p.how
    # the description names it when the title does not; the category comes last
    p = propose_name(Texts(title="Sleep Optimizer", description="Jarrow Formulas Sleep Optimizer. 60 capsules.",
                           category="Consumer Goods"))
    assert p.name == "pill bottle" and "description" in p.how
    p = propose_name(Texts(title="D_ROSE_45", category="Shoe"))
    assert p.name == "shoe" and "category" in p.how
    # brands, sizes, counts and colors never enter a name; they are kept to tell objects apart
    p = propose_name(Texts(title="Kong Puppy Teething Rubber, Small, Pink", brands=["KONG"]))
    assert p.name == "dog toy" and p.qualifiers[:2] == ["rubber", "kong"] and "pink" not in p.qualifiers
    assert "small" not in p.qualifiers


def test_fuel_ids_and_plurals() -> None:
    assert strip_fuel_id("Chelsea_lo_fl_rdheel_zAQrnhlEfw8") == "Chelsea_lo_fl_rdheel"
    assert strip_fuel_id("Object_REmvBDJStub") == "Object"
    assert strip_fuel_id("Schleich_Therizinosaurus") == "Schleich_Therizinosaurus"  # a word, not an id
    for plural, one in (("mugs", "mug"), ("boxes", "box"), ("glasses", "glass"), ("knives", "knife")):
        assert singular(plural) == one
    for word in ("glass", "headphones", "bus", "widgets"):
        assert singular(word) == word


def test_lexicon_file() -> None:
    lex = lexicon()
    assert len(lex.nouns) >= 300 and len(lex.category_sizes) >= 30
    for noun in ("mug", "dog toy", "sneaker", "cereal box", "serum bottle", "board game", "headphones", "football boot"):
        assert noun in lex.nouns, noun
    assert lex.metadata_noun("Consumer Goods") is None and lex.metadata_noun("Shoe").phrase == "shoe"
    # a color word inside a noun would clash with the color the object is named with ("olive oil bottle")
    words = set(color_words())
    assert not [n for n in lex.nouns if set(n.split()) & words]


def test_color_words_extend_the_builtin_palette() -> None:
    builtin = yaml.safe_load(BUILTIN_CATALOG.read_text())["colors"]
    words = color_words()
    assert all(tuple(words[k]) == tuple(v) for k, v in builtin.items())  # the same eleven, unchanged
    assert {"teal", "navy", "beige", "silver", "gold", "olive", "maroon", "turquoise", "lime", "cream"} <= set(words)


def _scan_texels(linear_rgb, n: int = 4000, wash: float = 0.15, seed: int = 0) -> np.ndarray:
    """Texels of one color under baked scan lighting: light from 100% down to 20%, ambient that
    washes the color toward gray, 3% white highlights, noise."""
    rng = np.random.default_rng(seed)
    k = 0.2 + 0.8 * rng.beta(4, 1.6, n)
    lin = np.asarray(linear_rgb, float)[None] * k[:, None]
    lin = (1 - wash) * lin + wash * lin.mean(axis=1, keepdims=True)
    lin[rng.random(n) < 0.03] = 0.9
    lin *= rng.normal(1, 0.05, (n, 1))
    return linear_to_srgb(np.clip(lin, 0, 1)) / 255.0


@pytest.mark.parametrize("wash", [0.0, 0.3])
def test_every_color_word_survives_baked_shading(wash: float) -> None:
    words = color_words()
    got = {w: classify(_scan_texels(rgb, wash=wash), np.ones(4000), words).word for w, rgb in words.items()}
    assert got == {w: w for w in words}


def test_teal_and_lime_and_multicolored() -> None:
    words = color_words()
    srgb = lambda *c: ((np.asarray(c, float) / 255) ** 2.2).tolist()  # noqa: E731
    assert classify(_scan_texels(srgb(0, 128, 128)), np.ones(4000), words).word == "teal"  # was "gray"
    assert classify(_scan_texels(srgb(150, 210, 40)), np.ones(4000), words).word == "lime"  # was "yellow"
    # the old 11-word palette had no teal: the same texels were gray
    old = {k: words[k] for k in list(words)[:11]}
    assert classify(_scan_texels(srgb(0, 128, 128)), np.ones(4000), old).word in ("blue", "green")
    mixed = np.vstack([_scan_texels(words[c], 1500, seed=i) for i, c in enumerate(("red", "yellow", "blue"))])
    r = classify(mixed, np.ones(len(mixed)), words)
    assert r.word is None and r.share < 0.5 and set(r.shares) == {"red", "yellow", "blue"}
    mostly = np.vstack([_scan_texels(words["white"], 3000), _scan_texels(words["red"], 1000, seed=1)])
    assert classify(mostly, np.ones(len(mostly)), words).word == "white"  # dominant above the share threshold


PBTXT = '''model {
  file: "model.sdf"
}
name: "Kong_Puppy_Teething_Rubber_Small_Pink"
description: "Kong Puppy Teething Rubber, Small, Pink\\nThe KONG Puppy \\"teething\\" toy. Caf\\303\\251"
version: 1
authors {
  name: "Google"
  email: "scanned-objects@google.com"
}
annotations {
  key: "brand"
  value: "KONG"
}
compatibilities {
  name: "Gazebo"
  version {
    major: 11
  }
}
categories {
  first: "Consumer Goods"
}
'''
CONFIG = ('<!--\nCopyright 2020 Google LLC.\n-->\n<model>\n  <name>Kong_Puppy_Teething_Rubber_Small_Pink</name>\n'
          '  <author>\n    <name>Google</name>\n  </author>\n  <description>Kong Puppy Teething Rubber, Small, Pink\n'
          'The KONG Puppy is made of a softer rubber.</description>\n</model>\n')


def test_pbtxt_by_field() -> None:
    tree = parse(PBTXT)
    assert tree["name"] == ["Kong_Puppy_Teething_Rubber_Small_Pink"]  # not "Google", not "Gazebo"
    assert first(tree, "description") == 'Kong Puppy Teething Rubber, Small, Pink\nThe KONG Puppy "teething" toy. Café'
    assert first(tree, "categories", "first") == "Consumer Goods"
    assert first(tree, "compatibilities", "version", "major") == 11
    assert annotations(tree) == {"brand": "KONG"}
    texts, _ = read_texts(CONFIG, PBTXT, "folder")
    assert texts.title == "Kong Puppy Teething Rubber, Small, Pink" and "Google" not in texts.names
    assert texts.description.startswith("The KONG Puppy") and "\\n" not in texts.description
    assert (texts.category, texts.brands) == ("Consumer Goods", ["KONG"])
    # a literal backslash-n in a description that reached the text unparsed
    texts, _ = read_texts(None, 'description: "Mug\\\\nA mug."', "x")
    assert (texts.title, texts.description) == ("Mug", "A mug.")


def _entry(id_: str, name: str, color: str | None, quals: list[str], origin: str | None = None) -> dict:
    return {"id": id_, "name": name, "colorable": False, "color": color, "origin": origin or f"/gso/{id_}",
            "proposed": {"name": name}, "evidence": {"name_base": name, "name_qualifiers": quals}}


def _names(entries: list[dict]) -> dict[str, str]:
    return {e["id"]: e["name"] for e in entries}


def test_unique_names_do_not_depend_on_order() -> None:
    def catalog() -> list[dict]:
        return [_entry("toy", "dog toy", "pink", ["rubber", "kong"]),
                _entry("cereal", "cereal box", "yellow", ["honey", "vans"]),
                _entry("crackers", "cracker box", "yellow", ["veggie", "vans"]),
                _entry("white_a", "mug", "white", ["porcelain", "bead", "threshold"]),
                _entry("white_b", "mug", "white", ["stoneware", "classic"]),
                _entry("teal", "mug", "teal", ["classic", "cole-hardware"]),
                _entry("shoe_a", "boat shoe", "brown", ["leather", "billfish"]),
                _entry("shoe_b", "boat shoe", "brown", ["suede", "billfish"])]

    first_names = None
    rng = np.random.default_rng(0)
    for perm in [range(8), reversed(range(8))] + [rng.permutation(8) for _ in range(100)]:
        entries = [catalog()[i] for i in perm]
        dedupe_names(entries)
        names = _names(entries)
        first_names = first_names or names
        assert names == first_names
    assert first_names == {"toy": "dog toy", "cereal": "cereal box", "crackers": "cracker box",
                           "white_a": "porcelain mug", "white_b": "stoneware mug", "teal": "mug",
                           "shoe_a": "leather boat shoe", "shoe_b": "suede boat shoe"}
    # a subset without the other white mug: its plain name; with the same collisions: the same names
    subset = [_entry("white_a", "mug", "white", ["porcelain", "bead"]), _entry("teal", "mug", "teal", ["classic"])]
    dedupe_names(subset)
    assert _names(subset) == {"white_a": "mug", "teal": "mug"}


def test_user_names_are_kept_and_proposals_follow() -> None:
    mine = _entry("a", "coffee mug", "white", ["porcelain"])
    mine["name"] = "espresso cup"  # edited by the user: no longer the proposal
    other = _entry("b", "espresso cup", "white", ["stoneware"])
    third = _entry("c", "coffee mug", "white", ["porcelain"])
    hand = {"id": "d", "name": "bowl", "colorable": True}  # hand-written, no proposal: the user's
    bowl = _entry("e", "bowl", "white", ["cereal"])
    entries = [mine, other, third, hand, bowl]
    notes = dedupe_names(entries)
    assert _names(entries) == {"a": "espresso cup", "b": "stoneware espresso cup", "c": "coffee mug", "d": "bowl",
                               "e": "cereal bowl"}
    assert other["proposed"]["name"] == "stoneware espresso cup" and mine["proposed"]["name"] == "coffee mug"
    assert notes == []
    # the colliding model is gone: the name goes back to its base
    entries = [other, hand]
    dedupe_names(entries)
    assert other["name"] == "espresso cup" == other["proposed"]["name"]


def test_indistinguishable_models_are_numbered_by_origin() -> None:
    entries = [_entry("b", "mug", "white", ["classic"], "/gso/2"), _entry("a", "mug", "white", ["classic"], "/gso/1")]
    notes = dedupe_names(entries)
    assert _names(entries) == {"a": "mug", "b": "mug 2"} and len(notes) == 1 and "'a'" in notes[0]


def test_loader_allows_one_name_in_two_colors(tmp_path) -> None:
    from simedit.render.catalog.model import load_catalog
    from simedit.render.common.errors import SimEditError

    mesh = "pybullet_data:objects/mug.obj"
    text = ("colors: {white: [0.8, 0.8, 0.8], teal: [0.0, 0.2, 0.2]}\nassets:\n"
            f"  - {{id: a, name: mug, category: cup, render_mesh: '{mesh}', colorable: false, color: white}}\n"
            f"  - {{id: b, name: mug, category: cup, render_mesh: '{mesh}', colorable: false, color: teal}}\n")
    (tmp_path / "ok.yaml").write_text(text)
    assert load_catalog(tmp_path / "ok.yaml").display_name("b", None) == "teal mug"
    (tmp_path / "bad.yaml").write_text(text + f"  - {{id: c, name: mug, category: cup, render_mesh: '{mesh}'}}\n")
    with pytest.raises(SimEditError, match=r"assets\[2\]\.name: duplicate name 'mug' \(also used by 'a'"):
        load_catalog(tmp_path / "bad.yaml")  # a solid-color mug could be painted white or teal
