"""simedit's fine-tuner: InstructPix2Pix-style editing trained on simulated pairs mixed with other
sources. Subpackages: `trainer` (loop, model, losses, checkpoints, validation, tiny model), `data`
(sources, mixing, augmentation, batches, demo run), `video` (video-derived pairs), `eval`
(DiscEdit triples and scoring, reference metrics). The exports below are imported on first use,
so `import simedit.train` pulls in no torch or diffusers."""
from __future__ import annotations

from simedit.train.errors import TrainError

__all__ = ["TrainError", "load_config", "train", "make_tiny_model", "make_demo_run"]


def __getattr__(name: str):
    if name == "load_config":
        from simedit.train.config import load_config
        return load_config
    if name == "train":
        from simedit.train.trainer.loop import train
        return train
    if name == "make_tiny_model":
        from simedit.train.trainer.tiny import make_tiny_model
        return make_tiny_model
    if name == "make_demo_run":
        from simedit.train.data.demo import make_demo_run
        return make_demo_run
    raise AttributeError(name)
