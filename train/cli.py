"""The `train` command.

    train --config CONFIG.yaml [--resume] [--stop-after N]
    train make-tiny-model OUT_DIR       # a random-weight tiny pipeline, to try the loop on CPU
    train make-demo-data OUT_DIR        # a render-style run directory of moving squares
"""
from __future__ import annotations

import argparse
import sys

from simedit.render.common.command import run_command
from simedit.train.errors import TrainError


def _train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train", description="Fine-tune an InstructPix2Pix-style editor. "
                                "Other commands: `train make-tiny-model OUT_DIR`, `train make-demo-data OUT_DIR`.")
    p.add_argument("--config", required=True, help="YAML config (see train/configs/)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
    p.add_argument("--stop-after", type=int, metavar="N", help="stop after N steps (checkpoint written); continue with --resume")
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    return p


def _run(argv: list[str]) -> int:
    if argv[:1] == ["make-tiny-model"]:
        p = argparse.ArgumentParser(prog="train make-tiny-model", description="Write a tiny random-weight InstructPix2Pix pipeline.")
        p.add_argument("out_dir")
        p.add_argument("--seed", type=int, default=0)
        a = p.parse_args(argv[1:])
        from simedit.train.trainer.tiny import make_tiny_model
        print(f"tiny pipeline written to {make_tiny_model(a.out_dir, a.seed)}")
        return 0
    if argv[:1] == ["make-demo-data"]:
        p = argparse.ArgumentParser(prog="train make-demo-data", description="Write a render-style run directory of demo pairs.")
        p.add_argument("out_dir")
        p.add_argument("--pairs", type=int, default=16)
        a = p.parse_args(argv[1:])
        from simedit.train.data.demo import make_demo_run
        print(f"{a.pairs} demo pairs written to {make_demo_run(a.out_dir, a.pairs)}")
        return 0
    a = _train_parser().parse_args(argv)
    from simedit.train.config import load_config
    from simedit.train.trainer.loop import train
    cfg = load_config(a.config)
    r = train(cfg, resume=a.resume, stop_after=a.stop_after, device=a.device)
    skipped = ", ".join(f"{k}: {v}" for k, v in r.skipped.items()) or "none"
    print(f"trained steps {r.start_step}..{r.end_step} at {r.steps_per_second:.2f} steps/s; "
          f"last loss {r.losses[-1] if r.losses else float('nan'):.4f}; skipped pairs: {skipped}")
    if r.validation_grids:
        print(f"validation grids: {r.validation_grids[-1].parent}")
    print(f"final pipeline: {r.final_dir}" if r.final_dir else f"checkpoint in {r.output_dir / 'checkpoints'}; continue with --resume")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        _run, argv, prefix="train: ",
        interrupted="interrupted (continue with --resume from the last checkpoint)",
    )


if __name__ == "__main__":
    sys.exit(main())
