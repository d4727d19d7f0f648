"""What an instruction *does* (its action), and EditAction's contrastive negatives.

EditAction (Trusca et al., section 3.3) contrasts the true instruction c with "another randomly
selected action-based text instruction c' that does not share any token with c". On simulated
edits almost every instruction shares "the" (and an object name) with every other, so a literal
reading finds negatives only among the rare instructions without "the", and they all come from
one edit kind. What must differ is the action:

- a render pair's action is its manifest's `kind` and `subtype` ("location.relative",
  "stack.put_on"): derived from the data, so a new edit kind brings its own actions;
- a pair that states its own (`action` in AURORA JSON, e.g. the Something-Something template
  that `video-pairs` writes) uses it;
- otherwise the verb phrase: the first word with a light stemming ("putting" -> "put"), plus the
  verb particles the instruction contains ("pick the cup up" -> "pick up").

A negative has a different action, drawn in proportion to how often each other action occurs,
and, within it, preferably shares no content word (stopwords never count) with c.
"""
from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an the this that these those it its it's them their his her him she he they of to in into onto on at by "
    "for from with and or but as so then than too very please can could would you your is are be been being was "
    "were do does did some any all both each every one two three four five six seven eight nine ten no not "
    "now just there here up down off over out around away back".split())
PARTICLES = ("up", "down", "off", "over", "out", "around", "away", "back", "apart", "together", "upside")
_LEAD_IN = ("please", "now", "then", "just")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_words(text: str) -> set[str]:
    """The words that carry meaning: stopwords and particles never make two instructions alike."""
    return {w for w in words(text) if w not in STOPWORDS}


def _stem(verb: str) -> str:
    if verb.endswith("ing") and len(verb) > 5:
        stem = verb[:-3]
        if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls":
            stem = stem[:-1]  # putting -> put, dropping -> drop
        return stem
    return verb


def verb_phrase(text: str) -> str:
    """The first word (stemmed) and the particles that follow somewhere: "pick the cup up" -> "pick up"."""
    ws = [w for w in words(text)]
    while ws and ws[0] in _LEAD_IN:
        ws = ws[1:]
    if not ws:
        return ""
    parts = [p for p in PARTICLES if p in ws[1:]]
    return " ".join([_stem(ws[0]), *parts])


class NegativePool:
    """Instructions of a stage, grouped by action, for EditAction's negatives."""

    def __init__(self, instructions: list[str], actions: list[str], tries: int = 16):
        self.texts = list(instructions)
        self.tries = tries
        groups: dict[str, list[int]] = defaultdict(list)
        for j, a in enumerate(actions):
            groups[a].append(j)
        self.names = sorted(groups)
        self.members = [np.asarray(groups[a], dtype=np.int64) for a in self.names]
        self.sizes = np.array([len(m) for m in self.members], dtype=float)
        self._index = {a: k for k, a in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_actions(self) -> int:
        return len(self.names)

    def pick(self, instruction: str, action: str, rng: np.random.Generator) -> str | None:
        """A negative for (instruction, action): another action, no shared content word when one
        is found within `tries` draws; None when every instruction has this action."""
        sizes = self.sizes.copy()
        if action in self._index:
            sizes[self._index[action]] = 0
        total = sizes.sum()
        if total <= 0:
            return None
        own = content_words(instruction)
        # The action first, in proportion to its share (so rare wordings are not favoured), then
        # an instruction of it that shares no content word with c when one turns up.
        g = min(int(np.searchsorted(np.cumsum(sizes / total), rng.random(), side="right")), len(sizes) - 1)
        members = self.members[g]
        cand = None
        for _ in range(self.tries):
            cand = self.texts[int(members[int(rng.integers(len(members)))])]
            if not (content_words(cand) & own):
                return cand
        return cand  # every draw shared a word: a different action is what matters
