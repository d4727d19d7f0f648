"""The `train` command.

    train --config CONFIG.yaml [--resume] [--stop-after N] [--device D] [--check]
    train make-tiny-model OUT_DIR [--seed S]     # a random-weight tiny pipeline, to try the loop on CPU
    train make-demo-data OUT_DIR [--pairs N]     # a render-style run directory of moving squares
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simedit.render.common.command import run_command
from simedit.train.errors import TrainError

USAGE = """train --config CONFIG.yaml [--resume] [--stop-after N] [--device D] [--check]
       train make-tiny-model OUT_DIR [--seed S]
       train make-demo-data OUT_DIR [--pairs N]"""
TRAIN_OPTIONS = ("config", "resume", "stop_after", "device", "check")
MAX_DEMO_PAIRS = 100_000  # a demo; more is a typo that would fill the disk


def _wide(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, max_help_position=30)


def _parser() -> argparse.ArgumentParser:
    # Training takes no subcommand (`train --config X`, as always); the helpers are subcommands.
    p = argparse.ArgumentParser(prog="train", usage=USAGE, formatter_class=_wide,
                                description="Fine-tune an InstructPix2Pix-style editor on editing pairs.")
    p.add_argument("--config", metavar="CONFIG.yaml", help="YAML config (see train/configs/); required to train")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output_dir")
    p.add_argument("--stop-after", type=int, metavar="N", help="stop after N steps (checkpoint written); continue with --resume")
    p.add_argument("--device", metavar="D", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--check", action="store_true",
                   help="check the config, model folder, datasets and output_dir as training would, then stop")
    sub = p.add_subparsers(dest="cmd", title="other commands", metavar="COMMAND")
    t = sub.add_parser("make-tiny-model", prog="train make-tiny-model", formatter_class=_wide,
                       help="write a tiny random-weight pipeline, to try the loop on a CPU",
                       description="Write a tiny random-weight InstructPix2Pix pipeline.")
    t.add_argument("out_dir", metavar="OUT_DIR")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="weight seed (default 0)")
    d = sub.add_parser("make-demo-data", prog="train make-demo-data", formatter_class=_wide,
                       help="write a render-style run directory of demo pairs",
                       description="Write a render-style run directory of demo pairs.")
    d.add_argument("out_dir", metavar="OUT_DIR")
    d.add_argument("--pairs", type=int, default=16, metavar="N", help="number of pairs (default 16)")
    return p


def _train(a: argparse.Namespace) -> int:
    from simedit.train.config import load_config
    from simedit.train.trainer.preflight import preflight

    if a.stop_after is not None and a.stop_after < 1:
        raise TrainError(f"must be at least 1 (got {a.stop_after})", field="--stop-after")
    cfg = load_config(a.config)
    checked = preflight(cfg, resume=a.resume)  # the same checks the trainer runs, before torch loads
    if a.check:
        for warning in checked.warnings:
            print(f"warning: {warning}")
        print(checked.summary())
        return 0
    from simedit.train.trainer.loop import train

    r = train(cfg, resume=a.resume, stop_after=a.stop_after, device=a.device, checked=checked)
    if not r.main_process:  # under `accelerate launch`: one summary, from the main process
        return 0
    skipped = ", ".join(f"{k}: {v}" for k, v in r.skipped.items()) or "none"
    procs = f" on {r.processes} processes" if r.processes > 1 else ""
    print(f"trained steps {r.start_step}..{r.end_step} at {r.steps_per_second:.2f} steps/s{procs}; "
          f"last loss {f'{r.losses[-1]:.4f}' if r.losses else 'none (no step to train)'}; skipped pairs: {skipped}")
    if r.action_loss_skipped:
        print(f"EditAction: the action loss found no negative in {r.action_loss_skipped} micro-batch(es)")
    if r.validation_grids:
        print(f"validation grids: {r.validation_grids[-1].parent}")
    print(f"final pipeline: {r.final_dir}" if r.final_dir else f"checkpoint in {r.output_dir / 'checkpoints'}; continue with --resume")
    return 0


def _run(argv: list[str]) -> int:
    p = _parser()
    a = p.parse_args(argv)
    given = [f"--{k.replace('_', '-')}" for k in TRAIN_OPTIONS if getattr(a, k) not in (None, False)]
    if a.cmd is None:
        if a.config is None:
            p.error("the following arguments are required: --config")
        return _train(a)
    if given:
        p.error(f"{', '.join(given)}: training options, not for `train {a.cmd}`")
    if Path(a.out_dir).exists() and not Path(a.out_dir).is_dir():
        raise TrainError("is a file; give a folder to write", file=a.out_dir, field="OUT_DIR")
    if a.cmd == "make-tiny-model" and not 0 <= a.seed < 2**32:
        raise TrainError(f"must be in 0..{2**32 - 1} (got {a.seed})", field="--seed")
    if a.cmd == "make-demo-data" and not 1 <= a.pairs <= MAX_DEMO_PAIRS:
        raise TrainError(f"must be in 1..{MAX_DEMO_PAIRS} (got {a.pairs})", field="--pairs")
    if a.cmd == "make-tiny-model":
        from simedit.train.trainer.tiny import make_tiny_model
        print(f"tiny pipeline written to {make_tiny_model(a.out_dir, a.seed)}")
        return 0
    from simedit.train.data.demo import make_demo_run
    print(f"{a.pairs} demo pairs written to {make_demo_run(a.out_dir, a.pairs)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(
        _run, argv, prefix="train: ",
        interrupted="interrupted (continue with --resume from the last checkpoint)",
    )


if __name__ == "__main__":
    sys.exit(main())
