"""Field types for the project's YAML files (scene specs, training configs): finite, bounded
numbers that refuse strings and booleans, ranges, non-empty lists. Every value a run would trip
on later is refused when the file is loaded, naming the field."""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import AfterValidator, Field, ValidationError
from pydantic import Strict as StrictType


def number(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None) -> Any:
    """A finite number (an int is fine, a string or a bool is not) within bounds: every value a
    run would otherwise trip on later is refused when the spec is loaded."""
    return Annotated[float, StrictType(), Field(ge=ge, gt=gt, le=le, lt=lt, allow_inf_nan=False)]


def integer(*, ge: int | None = None, le: int | None = None) -> Any:
    return Annotated[int, StrictType(), Field(ge=ge, le=le)]


def _ordered(value: Any) -> Any:
    if isinstance(value, tuple) and value[0] > value[1]:
        raise ValueError(f"range [{value[0]}, {value[1]}] has low > high")
    return value


def span(item: Any) -> Any:
    """A fixed value or a `[low, high]` range sampled per scene."""
    return Annotated[Union[item, tuple[item, item]], AfterValidator(_ordered)]


def nonempty(item: Any) -> Any:
    """A list the sampler draws from: an empty one could never be drawn from."""
    return Annotated[list[item], Field(min_length=1)]


# --- one-line messages for validation errors ----------------------------------------------


def _is_member_label(part: Any) -> bool:
    """pydantic names the members of a `span` union by type: 'constrained-float', 'int',
    'tuple[constrained-float, constrained-float]'."""
    return isinstance(part, str) and (part in ("int", "float") or part.startswith("constrained-") or "[" in part)


def field_path(loc: tuple[Any, ...]) -> str:
    """('edits', 0, 'rotation', 'subtypes') -> 'edits[0].subtypes' (drops union labels)."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_member_label(part) or (i >= 2 and loc[i - 2] == "edits" and isinstance(loc[i - 1], int)):
            continue  # a span member label, or the edit kind tag after edits[i]
        else:
            out += f".{part}" if out else part
    return out


def _short(value: Any, limit: int = 40) -> str:
    """The offending input, short: an error line stays readable whatever was pasted."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_MESSAGES = {
    "greater_than_equal": "must be >= {ge}", "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}", "less_than": "must be < {lt}",
    "finite_number": "must be a finite number", "float_type": "expected a number",
    "int_type": "expected an integer", "too_short": "must not be empty",
    "bool_type": "expected true or false", "string_type": "expected a text",
    "list_type": "expected a list", "tuple_type": "expected a [low, high] pair",
    "model_type": "expected a mapping of fields", "dict_type": "expected a mapping",
    "too_long": "expected a [low, high] pair",
}


def _union_choice(errors: list[dict]) -> list[dict]:
    """For a `span` (a number or a [low, high] pair) pydantic reports both members; keep the
    member the input was meant as: the pair when it was a list, else the number."""
    out, seen = [], set()
    for e in errors:
        labels = [i for i, part in enumerate(e["loc"]) if _is_member_label(part)]
        if not labels:
            out.append(e)
            continue
        i = labels[-1]
        base = e["loc"][:i]
        is_pair = "[" in str(e["loc"][i])
        siblings = [x for x in errors if x["loc"][:i] == base and len(x["loc"]) > i]
        given_list = any("[" in str(x["loc"][i]) and x["type"] != "tuple_type" for x in siblings)
        if is_pair == given_list and (base, e["type"]) not in seen:
            seen.add((base, e["type"]))
            out.append(e)
    return out or errors


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(field path, short message) of a validation error, for a one-line user error."""
    errors = _union_choice(exc.errors())
    e = errors[0]
    field = field_path(e["loc"])
    pair_item = e["type"] == "missing" and isinstance(e["loc"][-1], int)
    if pair_item:  # [50] or []: a pair with items missing, reported on the pair itself
        field = field_path(e["loc"][:-1])
        msg = "expected a [low, high] pair (two numbers)"
    elif e["type"] == "extra_forbidden":
        msg = "unknown key"
    elif e["type"] == "missing":
        msg = "required field is missing"
    elif e["type"] in ("float_type", "int_type") and any(_is_member_label(p) for p in e["loc"]):
        msg = f"{_MESSAGES[e['type']]} or a [low, high] pair (got {_short(e['input'])})"
    elif e["type"] in _MESSAGES:
        ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in e.get("ctx", {}).items()}
        msg = f"{_MESSAGES[e['type']].format(**ctx)} (got {_short(e['input'])})"
    elif e["type"] == "value_error":
        msg = str(e["ctx"]["error"]) if "ctx" in e else e["msg"]
    else:
        msg = f"{e['msg']} (got {_short(e['input'])})"
    others = {f for f in (field_path(x["loc"]) for x in errors) if f != field and not f.startswith(field + "[")}
    return field, msg + (f" [and {len(others)} more problem(s)]" if others else "")
