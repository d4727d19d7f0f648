"""Names and ids for imported models.

`propose_name` turns a model's own words into a colorless noun phrase and its category:

1. the title (a GSO model's description line "Kong Puppy Teething Rubber, Small, Pink", or its
   name "Kong_Puppy_Teething_Rubber_Small_Pink") is split into segments at commas and at
   "in / with / for" ("Boat Shoe in Dark Brown Leather"), and into words (camelCase, digits,
   a Fuel id suffix like "_zdHVHXueI3w" removed);
2. lexicon nouns and aliases are matched, longest first ("coffee mug" over "mug"); in a run of
   adjacent nouns the last one is the head ("dog bowl", "toothbrush holder"), unless it is the
   category's generic word ("cereal ... box", "lion action figure" -> "lion");
3. the best match wins: more words, agreeing with the collection's category, earlier;
4. packaging named after a quantity wins over its content ("... 11 oz box"), a multi-pack of
   cans is a box ("soda pack"), and context words refine ("game" + "wii" -> "video game");
5. without a noun in the title: the description's first sentences, then the collection's own
   category ("Shoe" -> "shoe"; "Consumer Goods" names nothing), then the title's words.

Brands, units, counts, sizes and color words never enter the base name; the rest of the words
are kept as `qualifiers`, which unique.py uses to tell apart objects that would share a name.
Colors come from the texture (colour.py) and are part of how an object is named in text ("teal
mug"), so two mugs of different colors need no qualifier.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from simedit.render.catalog.importers.lexicon import (DEFAULT_CATEGORY, MAX_PHRASE_WORDS, Lexicon, Noun, lexicon,
                                                      singular_word)

# GSO / Fuel folder names end in a random 11-character id when a product was scanned twice
FUEL_ID = re.compile(r"[_ ]([A-Za-z0-9]{11})$")
SEGMENT_WORDS = ("in", "with", "for")  # "Boat Shoe in Navy Leather": what follows describes the variant
QUANTITY_UNITS = {"oz", "fl", "floz", "ml", "l", "lt", "g", "kg", "lb", "lbs", "ct", "count", "pack", "pk", "inch",
                  "in", "qt", "cup", "cups", "piece", "pieces", "pcs", "x", "liter", "litre", "yd", "ft", "mm", "cm"}
MULTI_UNITS = {"pack", "pk", "ct", "count", "packets", "pouches", "pods", "cans", "bottles", "pk12", "pack12"}
# generic last words of a run: they defer to a specific noun of their category before them
# ("cereal ... box" -> cereal box), or to any noun for the words that say nothing ("triceratops toy")
GENERIC = {"box", "pot", "container", "case", "game", "bottle", "can", "jar", "bag", "package", "pan", "tool",
           "utensil", "vehicle", "block", "plate", "dish", "bowl", "cup"}
GENERIC_ANY = {"toy", "figure", "action figure", "toy figure", "figurine", "set", "kit", "toy set"}
STOP = {"and", "of", "the", "a", "an", "to", "by", "on", "at", "or", "from", "n", "s", "&"}
NOT_QUALIFIERS = {"ounces", "ounce", "grams", "liters", "inches", "action", "total", "each"}
PLURAL_PACKAGING = {"cans", "bottles", "packets", "pouches", "pods", "cups"}
MAX_FALLBACK_WORDS = 3
TITLE_MAX_WORDS = 14  # a description's first line longer than this is prose, not a title


@dataclass
class NameProposal:
    name: str  # colorless noun phrase: "dog toy"
    category: str
    size_m: float  # the noun's typical largest dimension
    how: str  # one line of evidence
    usual_tags: tuple[str, ...] = ()  # what the lexicon expects of the noun (a cross-check)
    qualifiers: list[str] = field(default_factory=list)  # distinguishing words, best first

    def __iter__(self):  # (name, category, size, how) unpacking, as before
        return iter((self.name, self.category, self.size_m, self.how))


@dataclass
class Match:
    start: int
    end: int  # token positions [start, end)
    noun: Noun
    via: str  # the words matched
    how: str  # "noun" / "alias 'serum'"


@dataclass
class Texts:
    """What a model says about itself."""

    title: str  # product name: description line 1, or the model's name
    names: list[str] = field(default_factory=list)  # other spellings of the name (folder, model.config <name>)
    description: str = ""  # the rest of the description
    category: str | None = None  # the collection's own category
    brands: list[str] = field(default_factory=list)  # brand annotations


def title_and_body(description: str) -> tuple[str, str]:
    """A product description's title (its first line, when it is short enough to be one) and the
    prose after it; a literal backslash-n counts as a line break (GSO metadata has both)."""
    lines = [ln.strip() for ln in description.replace("\\n", "\n").splitlines() if ln.strip()]
    if not lines:
        return "", ""
    if len(lines[0].split()) > TITLE_MAX_WORDS:  # prose, not a title
        return "", re.sub(r"\s+", " ", " ".join(lines))
    return lines[0], re.sub(r"\s+", " ", " ".join(lines[1:]))


def snake_id(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "model"
    return s if s[0].isalpha() else f"m_{s}"


def _looks_random(token: str) -> bool:
    """"zdHVHXueI3w", "REmvBDJStub": Fuel's duplicate-scan suffix, not a word ("Therizinosaurus")."""
    upper_inside = any(c.isupper() for c in token[1:])
    has_digit, has_alpha = any(c.isdigit() for c in token), any(c.isalpha() for c in token)
    lowers = sum(c.islower() for c in token)
    return (has_digit and has_alpha and lowers >= 2) or (upper_inside and lowers >= 2 and not token.isupper())


def strip_fuel_id(text: str) -> str:
    m = FUEL_ID.search(text.strip())
    return text.strip()[: m.start()] if m and _looks_random(m.group(1)) else text.strip()


def tokens(text: str) -> list[str]:
    """Words as written: separators, camelCase ("GELBlur" -> GEL Blur) and letter/digit runs split."""
    text = strip_fuel_id(text).replace("_", " ").replace("&", " and ")
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])(\d)", r"\1 \2", text)
    text = re.sub(r"(\d)([A-Za-z])", r"\1 \2", text)
    return [t for t in re.split(r"[^A-Za-z0-9'\-]+", text) if t and t.strip("'-")]


def segments(text: str) -> list[list[str]]:
    """Title -> word lists split at punctuation and at "in / with / for" (not the first word)."""
    out: list[list[str]] = []
    for part in re.split(r"[,;:()\[\]/|\n]| - ", strip_fuel_id(text)):
        current: list[str] = []
        for tok in tokens(part):
            if tok.lower() in SEGMENT_WORDS and current:
                out.append(current)
                current = []
                continue
            current.append(tok)
        if current:
            out.append(current)
    return out


def _strip_brands(words: list[str], brands: frozenset[str]) -> tuple[list[str | None], list[str]]:
    """Brand phrases (longest first) replaced by None; -> (words, brand words found)."""
    out: list[str | None] = list(words)
    found: list[str] = []
    i = 0
    while i < len(out):
        for n in range(min(MAX_PHRASE_WORDS, len(out) - i), 0, -1):
            chunk = out[i:i + n]
            if None in chunk:
                continue
            phrase = " ".join(chunk)  # type: ignore[arg-type]
            if phrase in brands:
                found.append(phrase)
                out[i:i + n] = [None] * n
                i += n - 1
                break
        i += 1
    return out, found


def _phrase_positions(lower: list[str], lex: Lexicon) -> set[int]:
    """Positions covered by a lexicon phrase of two or more words."""
    covered: set[int] = set()
    for i in range(len(lower)):
        for n in range(min(MAX_PHRASE_WORDS, len(lower) - i), 1, -1):
            if lex.lookup(" ".join(lower[i:i + n])):
                covered.update(range(i, i + n))
                break
    return covered


def _is_code(raw: str, mixed_case: bool, lex: Lexicon) -> bool:
    """Model numbers and short ALLCAPS codes ("LC75M", "SH", "TRX") in a mixed-case title."""
    low = raw.lower()
    if low in lex.vocabulary:
        return False
    if any(c.isdigit() for c in raw):
        return True
    return mixed_case and raw.isupper() and len(raw) <= 3


def _matches(words: list[str | None], lex: Lexicon) -> list[Match]:
    """Longest-first lexicon matches over lowercase words (None: a removed brand or code)."""
    out: list[Match] = []
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            chunk = words[i:i + n]
            if None in chunk:
                continue
            for phrase in (" ".join(chunk), " ".join(singular_word(w, lex) for w in chunk)):  # type: ignore[arg-type]
                if n == 1 and (phrase in lex.colors or phrase in lex.drop or phrase in lex.sizes):
                    continue  # "orange", "set", "mini" alone are never the object
                found = lex.lookup(phrase)
                if found:
                    how = f"noun {phrase!r}" if found[1] == "noun" else f"{found[1]} -> {found[0].phrase!r}"
                    hit = Match(i, i + n, found[0], phrase, how)
                    break
            if hit:
                break
        if hit:
            out.append(hit)
            i = hit.end
        else:
            i += 1
    return out


def _head_of_run(run: list[Match]) -> Match:
    """English compounds are head-final ("dog bowl"), but a generic last word defers to a
    specific one before it ("cereal ... box" -> cereal box, "lion action figure" -> lion)."""
    last = run[-1]
    if len(run) > 1 and last.noun.phrase in GENERIC_ANY:
        return run[-2]
    if len(run) > 1 and last.noun.phrase in GENERIC:
        same = [m for m in run[:-1] if m.noun.category == last.noun.category]
        return same[-1] if same else last
    return last


def _runs(matches: list[Match], words: list[str | None]) -> list[tuple[Match, int]]:
    """(head, longest phrase length in its run) for each run of adjacent matches; words between
    matches that are units, sizes or digits do not break a run ("plant container 12 pot")."""
    runs: list[list[Match]] = []
    for m in matches:
        if runs:
            gap = words[runs[-1][-1].end:m.start]
            if all(w is None for w in gap):
                runs[-1].append(m)
                continue
        runs.append([m])
    return [(_head_of_run(r), max(len(x.via.split()) for x in r)) for r in runs]


@dataclass
class _Segment:
    raw: list[str]
    words: list[str | None]  # lowercase; None for brands, codes and digits
    lower_all: list[str]  # lowercase of every raw word (context words, quantities)


def _segments(text: str, lex: Lexicon, extra_brands: frozenset[str]) -> tuple[list[_Segment], list[str]]:
    segs = segments(text)
    mixed = any(any(c.islower() for c in t) for s in segs for t in s)
    brands_found: list[str] = []
    out = []
    for raw in segs:
        lower = [t.lower().strip("'") for t in raw]
        protected = _phrase_positions(lower, lex)  # "nintendo 64", "3ds xl": lexicon words, not a brand or code
        words, found = _strip_brands([None if k in protected else w for k, w in enumerate(lower)],
                                     lex.brands | extra_brands)
        brands_found += found
        words = [lower[k] if k in protected else w for k, w in enumerate(words)]
        cleaned: list[str | None] = [w if k in protected else None if w is None or _is_code(r, mixed, lex) else w
                                     for k, (r, w) in enumerate(zip(raw, words))]
        # a unit right after a number is a quantity, never a noun ("16 oz cup", "2 Cup")
        for k in range(1, len(lower)):
            if lower[k] in QUANTITY_UNITS and (lower[k - 1].isdigit() or (k > 1 and lower[k - 2].isdigit()
                                                                           and lower[k - 1] in QUANTITY_UNITS)):
                if lower[k] not in lex.packaging:
                    cleaned[k] = None
        out.append(_Segment(raw, cleaned, lower))
    return out, brands_found


def _packaging(seg: _Segment, head: Match, lex: Lexicon) -> Match | None:
    """A container named after a quantity ("11 oz box", "12 fl oz cans") is what sits on the
    table, whatever the title says it holds."""
    for k in range(len(seg.lower_all) - 1, 0, -1):
        word = singular_word(seg.lower_all[k], lex)
        before = seg.lower_all[max(0, k - 3):k]
        if word in lex.packaging and any(b.isdigit() for b in before) and k >= head.end:
            found = lex.lookup(word)
            if found:
                return Match(k, k + 1, found[0], word, "packaging after a quantity")
    return None


def _multi_pack(seg_lower: list[str]) -> bool:
    """"12 pack", "12 PK", "12 x 12 fl oz cans", "Cola12 Pack": several units sold as one box."""
    counts = [k for k, w in enumerate(seg_lower) if w.isdigit() and int(w) > 1]
    for k in range(1, len(seg_lower)):
        if seg_lower[k] in MULTI_UNITS and seg_lower[k - 1].isdigit() and int(seg_lower[k - 1]) > 1:
            return True
        if seg_lower[k] in PLURAL_PACKAGING and any(c < k for c in counts):
            return True
    return "multipack" in seg_lower or ("variety" in seg_lower and "pack" in seg_lower)


def _context_words(words: list[str]) -> set[str]:
    """Single words and adjacent pairs ("firm ground"): what context rules look for."""
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}


def _context(noun: Noun, words: set[str], lex: Lexicon) -> tuple[Noun, list[str]]:
    """`noun` refined by the first context rule whose words occur ("game" + "wii" -> "video game")."""
    for c in lex.contexts:
        hit = sorted(c.with_words & words)
        if c.noun == noun.phrase and hit:
            return lex.nouns[c.use], hit
    return noun, []


def _refine(noun: Noun, how: str, words: set[str], lex: Lexicon, packaged: Match | None,
            multi: bool) -> tuple[Noun, str]:
    """Packaging, multi-packs and context words applied to a chosen noun."""
    if packaged is not None and packaged.noun.phrase != noun.phrase:
        pack = packaged.noun
        if noun.category == pack.category:  # "cereal box" ... "box": the content says which box
            how += f"; in a {pack.phrase} (after a quantity)"
        else:
            how += f"; packaged as a {pack.phrase} (after a quantity)"
            noun = pack
    if multi and noun.category in ("can", "bottle"):
        first = noun.phrase.split()[0]
        pack_noun = lex.nouns.get(f"{first} pack") or lex.nouns.get("multipack")
        if pack_noun is not None:
            how += f"; a multi-pack -> {pack_noun.phrase}"
            noun = pack_noun
    refined, hit = _context(noun, words, lex)
    if hit:
        how += f"; context {', '.join(hit)} -> {refined.phrase}"
    return refined, how


def _best(segs: list[_Segment], lex: Lexicon, meta: Noun | None) -> tuple[Match, int] | None:
    best, best_key = None, None
    words = _context_words([w for s in segs for w in s.lower_all])
    for si, seg in enumerate(segs):
        for head, length in _runs(_matches(seg.words, lex), seg.words):
            agrees = meta is not None and _context(head.noun, words, lex)[0].category == meta.category
            key = (length, agrees, -si, -head.start)
            if best_key is None or key > best_key:
                best, best_key = (head, si), key
    return best


def _qualifiers(segs: list[_Segment], used: set[str], brands: list[str], lex: Lexicon) -> list[str]:
    """Words that could tell this object from another of the same name: preferred qualifiers
    (materials, styles) first, then the other words in title order, brands last."""
    words: list[str] = []
    for seg in segs:
        for w in seg.words:
            if (w is None or w in used or w in STOP or len(w) < 3 or not w.isalpha() or w in lex.drop
                    or w in lex.sizes or w in lex.colors or w in lex.collectives or w in QUANTITY_UNITS
                    or w in GENERIC or w in GENERIC_ANY or w in PLURAL_PACKAGING or w in NOT_QUALIFIERS):
                continue
            words.append(w)
    words = list(dict.fromkeys(words))
    preferred = [w for w in words if w in lex.qualifiers]
    rest = [w for w in words if w not in lex.qualifiers]
    brand_words = [b.replace(" ", "-") for b in dict.fromkeys(brands)]
    return preferred + rest + [b for b in brand_words if b not in used]


def propose_name(texts: Texts | list[str], category_hint: str | None = None, palette: set[str] | None = None,
                 lex: Lexicon | None = None) -> NameProposal:
    """The base name, category and qualifiers a model's own words give (see the module doc).
    `texts` may be a plain list of strings, best first (the first is the title). Words in
    `palette` are treated as color words too."""
    lex = lex or lexicon()
    if not isinstance(texts, Texts):
        items = [t for t in texts if t]
        texts = Texts(title=items[0] if items else "", names=items[1:], category=category_hint)
    if palette:
        lex = _with_colors(lex, frozenset(w.lower() for w in palette))
    extra_brands = frozenset(b.lower() for b in texts.brands if b)
    meta = lex.metadata_noun(texts.category)
    sources = [("title", t) for t in dict.fromkeys([texts.title, *texts.names]) if t]
    if texts.description:
        sentences = re.split(r"(?<=[.!?])\s+|\n", texts.description.strip())
        sources.append(("description", " ".join(sentences[:2])))
    all_segs: list[_Segment] = []
    brands: list[str] = []
    for kind, text in sources:
        segs, found = _segments(text, lex, extra_brands)
        brands += found
        if kind == "title":
            all_segs += segs
        hit = _best(segs, lex, meta)
        if hit is None:
            continue
        head, si = hit
        seg = segs[si]
        words = _context_words([w for s in segs for w in s.lower_all])
        noun, how = _refine(head.noun, f"{head.how} in the {kind} {text!r}", words, lex, _packaging(seg, head, lex),
                            _multi_pack(seg.lower_all))
        used = set(noun.phrase.split()) | set(head.via.split())
        return NameProposal(noun.phrase, noun.category, noun.size_m, how, noun.tags,
                            _qualifiers(all_segs or segs, used, brands, lex))
    if meta is not None:
        words = _context_words([w for s in all_segs for w in s.lower_all] + [w.lower() for w in tokens(texts.description)])
        noun, how = _refine(meta, f"the collection's category {texts.category!r}", words, lex, None, False)
        used = set(noun.phrase.split())
        return NameProposal(noun.phrase, noun.category, noun.size_m, how, noun.tags,
                            _qualifiers(all_segs, used, brands, lex))
    words = _qualifiers(all_segs, set(), [], lex)
    if words:
        name = " ".join(words[:MAX_FALLBACK_WORDS])
        return NameProposal(name, DEFAULT_CATEGORY[0], DEFAULT_CATEGORY[1],
                            f"words of {texts.title!r} (no known noun; category {texts.category!r} names nothing)",
                            (), words[MAX_FALLBACK_WORDS:] + [b.replace(" ", "-") for b in dict.fromkeys(brands)])
    brand_words = [b.replace(" ", "-") for b in dict.fromkeys(brands)]
    return NameProposal("object", DEFAULT_CATEGORY[0], DEFAULT_CATEGORY[1], "no usable words", (), brand_words)



def _with_colors(lex: Lexicon, words: frozenset[str]) -> Lexicon:
    """The lexicon with a catalog's own palette words counted as colors."""
    return lex if words <= lex.colors else replace(lex, colors=lex.colors | words)
