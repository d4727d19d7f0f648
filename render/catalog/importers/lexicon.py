"""The words the importers know: object nouns with their category and typical size, GSO's
metadata categories, the modifiers kept before a noun, and the unit and color words dropped
from names."""
from __future__ import annotations

from functools import lru_cache

import inflect

# noun -> (category, typical largest dimension in meters). Categories follow the built-in
# catalog (mugs are in "cup", so shape swaps stay among drinking vessels).
NOUNS: dict[str, tuple[str, float]] = {
    "mug": ("cup", 0.11), "cup": ("cup", 0.09), "teacup": ("cup", 0.08), "tumbler": ("cup", 0.11),
    "glass": ("cup", 0.12), "bowl": ("bowl", 0.16), "ramekin": ("bowl", 0.09), "plate": ("plate", 0.25),
    "dish": ("plate", 0.22), "tray": ("plate", 0.35), "bottle": ("bottle", 0.25), "can": ("can", 0.12),
    "tin": ("can", 0.12), "jar": ("jar", 0.14), "vase": ("pot", 0.25), "pot": ("pot", 0.18),
    "planter": ("pot", 0.18), "bucket": ("bucket", 0.30), "pitcher": ("jug", 0.22), "jug": ("jug", 0.22),
    "kettle": ("jug", 0.22), "teapot": ("jug", 0.20), "box": ("box", 0.20), "carton": ("box", 0.20),
    "container": ("box", 0.15), "book": ("book", 0.23), "cube": ("block", 0.05), "block": ("block", 0.05),
    "brick": ("block", 0.05), "domino": ("block", 0.05), "ball": ("ball", 0.15), "basketball": ("ball", 0.24),
    "duck": ("toy", 0.08), "toy": ("toy", 0.15), "figure": ("toy", 0.15), "figurine": ("toy", 0.12),
    "doll": ("toy", 0.25), "bear": ("toy", 0.25), "teddy": ("toy", 0.25), "bunny": ("toy", 0.12),
    "dinosaur": ("toy", 0.20), "truck": ("toy", 0.15), "car": ("toy", 0.12), "train": ("toy", 0.15),
    "cone": ("cone", 0.30), "pencil": ("pencil", 0.18), "pen": ("pencil", 0.14), "marker": ("pencil", 0.14),
    "candle": ("candle", 0.12), "donut": ("food", 0.10), "egg": ("food", 0.055), "apple": ("food", 0.08),
    "banana": ("food", 0.20), "shoe": ("shoe", 0.28), "sneaker": ("shoe", 0.28), "boot": ("shoe", 0.30),
    "sandal": ("shoe", 0.26), "slipper": ("shoe", 0.26), "hat": ("hat", 0.30), "cap": ("hat", 0.28),
    "bag": ("bag", 0.35), "backpack": ("bag", 0.45), "purse": ("bag", 0.30), "lamp": ("lamp", 0.40),
    "clock": ("clock", 0.25), "phone": ("phone", 0.15), "mouse": ("mouse", 0.11), "keyboard": ("keyboard", 0.45),
    "headphones": ("headphones", 0.20), "camera": ("camera", 0.12), "speaker": ("speaker", 0.20),
    "pan": ("pan", 0.30), "spoon": ("utensil", 0.18), "fork": ("utensil", 0.18), "knife": ("utensil", 0.22),
    "scissors": ("utensil", 0.20), "puzzle": ("box", 0.25), "game": ("box", 0.27), "ring": ("ring", 0.12),
    "torus": ("ring", 0.12), "sphere": ("ball", 0.15), "cylinder": ("block", 0.10),
}
DEFAULT_CATEGORY = ("object", 0.15)
# GSO's own categories (metadata.pbtxt) -> our nouns
META_CATEGORIES = {"shoe": "shoe", "toys": "toy", "stuffed toys": "bear", "bottles and cans and cups": "bottle",
                   "bags": "bag", "hats": "hat", "legos": "brick", "board games": "game", "action figures": "figure",
                   "media cases": "box", "consumer goods": "box", "mouse": "mouse", "keyboard": "keyboard",
                   "headphones": "headphones", "camera": "camera"}
# one word directly before the noun is kept when it is one of these ("coffee mug", "soup can")
MODIFIERS = {"coffee", "tea", "wine", "water", "soup", "soda", "beer", "cereal", "cookie", "flower", "plant",
             "toy", "cake", "salad", "serving", "storage", "baby", "tennis", "soccer", "rubber", "wooden",
             "ceramic", "porcelain", "plastic", "metal", "cardboard", "traffic", "teddy", "measuring", "mixing",
             "travel", "spray", "pill", "paper", "shoe", "gift", "lunch", "pencil", "cooking", "dog", "cat"}
UNIT_WORDS = {"oz", "fl", "ml", "l", "g", "kg", "lb", "lbs", "ct", "count", "pack", "pk", "pc", "pcs", "in",
              "inch", "cm", "mm", "qt", "gal", "size", "set", "of", "and", "with", "the", "a", "for", "by", "x"}
COLOR_WORDS = {"grey", "navy", "beige", "silver", "gold", "golden", "multicolor", "multi", "clear", "light", "dark",
               "tan", "cream", "teal", "aqua", "coral", "ivory", "khaki", "maroon", "turquoise", "violet",
               "magenta", "cyan", "lime", "olive", "charcoal", "transparent", "natural"}


@lru_cache(maxsize=1)
def _inflect() -> inflect.engine:
    return inflect.engine()


def singular(word: str) -> str:
    """The known noun a lowercase word is the plural of ("boxes" -> "box", "knives" -> "knife"),
    else the word unchanged. A word already in NOUNS stays ("glass", "headphones"), and only a
    singular that is in NOUNS is taken: inflect also "singularizes" words that are no plurals
    ("bus" -> "bu")."""
    if not word or word in NOUNS:
        return word
    one = _inflect().singular_noun(word)
    return one if one and one in NOUNS else word
