"""Options of the `video-pairs` and `evaluate` commands, checked like config files: a value from
the command line or from an options YAML that is of the wrong type, not finite or out of range
is one error line naming where it came from (`--size` or `opts.yaml: size`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from simedit.render.common.fields import first_error
from simedit.train.errors import TrainError

FLAG = "--"  # the origin of a value given on the command line


def flag(name: str) -> str:
    return FLAG + name.replace("_", "-")


def option_error(exc: ValidationError, origin: Mapping[str, str] | None = None) -> TrainError:
    """One line for a refused option. `origin`: option name -> the file it came from, or FLAG."""
    field, msg = first_error(exc)
    key = field.split(".")[0].split("[")[0]
    source = (origin or {}).get(key, FLAG)
    if source == FLAG:
        return TrainError(msg, field=flag(field))
    return TrainError(msg, file=source, field=field)


def check_options(model: type[BaseModel], values: Mapping[str, Any], origin: Mapping[str, str] | None = None
                  ) -> BaseModel:
    """`values` validated by `model`, or a one-line TrainError."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as e:
        raise option_error(e, origin) from None
