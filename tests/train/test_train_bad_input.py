"""Issue #10 on the trainer side, failure by failure as users met them: each is one short error
line naming the file and field (exit 2), never a traceback, a hang, a NaN model or a write
outside the target. Train configs go through `train --config C --check`: the loading path and
the checks the trainer runs before its first step, without training."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import tiny_config, write_aurora_json, write_render_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared fuzz helpers
import fuzz_inputs as F  # noqa: E402

from simedit.train.cli import main as train_main  # noqa: E402
from simedit.train.config import parse_config  # noqa: E402
from simedit.train.errors import TrainError  # noqa: E402
from simedit.train.eval.cli import main as eval_main  # noqa: E402
from simedit.train.trainer.loop import Trainer  # noqa: E402
from simedit.train.video.cli import main as video_main  # noqa: E402

MAX_LINE = 200  # the "short": the error line, prefix and file name included


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_render_run(tmp_path_factory.mktemp("data") / "run", n=6)


def check_cmd(path: Path, out: Path) -> list[str]:
    return ["--config", str(path), "--check"]


def one_line(o: F.Outcome) -> str:
    """The error line; short once the folders of its file paths are left out (a user's own path
    is as long as they made it, the rest of the line is ours to keep short)."""
    assert o.code == 2 and not F.problems(o), (o.stderr, F.problems(o))
    line = o.stderr.strip()
    assert len(re.sub(r"/\S*/", "", line)) <= MAX_LINE, (len(line), line)
    return line


# (section, key, value, field named in the error, words the message must hold)
MEASURED = [
    ("train", "batch_size", 1_000_000_000, "train.batch_size", "gradient_accumulation"),  # took the machine's memory
    ("data", "resolution", 100_000, "data.resolution", "<= 2048"),  # grew past 10 GB
    ("data", "resolution", 36, "data.resolution", "multiple of 8"),
    ("train", "learning_rate", float("inf"), "train.learning_rate", "finite"),  # trained to NaN, exit 0
    ("train", "learning_rate", float("nan"), "train.learning_rate", "finite"),
    ("train", "learning_rate", 5.0, "train.learning_rate", "<= 1"),
    ("train", "max_grad_norm", float("nan"), "train.max_grad_norm", "finite"),
    ("train", "weight_decay", float("inf"), "train.weight_decay", "finite"),
    ("train", "weight_decay", -0.1, "train.weight_decay", ">= 0"),
    ("train", "adam_beta1", 1.5, "train.adam_beta1", "< 1"),
    ("train", "adam_beta2", float("nan"), "train.adam_beta2", "finite"),
    ("train", "adam_epsilon", 0, "train.adam_epsilon", "> 0"),
    ("train", "conditioning_dropout", 0.5, "train.conditioning_dropout", "<= 0.333"),
    ("train", "gradient_accumulation", "4", "train.gradient_accumulation", "expected an integer"),
    ("train", "ema", {"enabled": True, "decay": 1.0}, "train.ema.decay", "< 1"),
    ("model", "mask_dropout", float("inf"), "model.mask_dropout", "finite"),
    ("validation", "guidance_scale", float("inf"), "validation.guidance_scale", "finite"),
    ("validation", "num_examples", 10**9, "validation.num_examples", "<= 64"),
    (None, "output_dir", "", "output_dir", "must not be empty"),
    (None, "seed", -1, "seed", ">= 0"),
]


@pytest.mark.parametrize("section, key, value, field, words", MEASURED, ids=[f"{m[1]}={m[2]!r}" for m in MEASURED])
def test_each_measured_config_failure_is_one_line_naming_the_field(tiny_model, run_dir, tmp_path, section, key, value,
                                                                   field, words):
    raw = tiny_config(tiny_model, run_dir, tmp_path / "out")
    (raw[section] if section else raw)[key] = value
    o = F.run_case(F.Case(key, F.dump(raw)), tmp_path, check_cmd, train_main, tmp_path)
    line = one_line(o)
    assert f"input.yaml: {field}: " in line and words in line, line
    assert not (tmp_path / "out").exists()


def test_nan_and_inf_mix_factors_are_refused(tiny_model, run_dir, tmp_path):
    for factor in (float("nan"), float("inf"), -1, 0):
        raw = tiny_config(tiny_model, run_dir, tmp_path / "out")
        raw["data"]["stages"] = [{"mix": {"run": factor}}]
        line = one_line(F.run_case(F.Case("mix", F.dump(raw)), tmp_path / str(factor), check_cmd, train_main, tmp_path))
        assert "data.stages[0]" in line, line


def test_memory_rule_refuses_warns_or_accepts(tiny_model, run_dir, tmp_path, capsys):
    from simedit.train.trainer.memory import check_micro_batch

    # The rule with Stable Diffusion's VAE: 512 latents of 32 x 32 refused, 64 warned.
    with pytest.raises(TrainError, match=r"600 images of 256x256 .* \(at most 512\); .*gradient_accumulation"):
        check_micro_batch(600, 256)
    with pytest.raises(TrainError, match=r"at most 128\)"):
        check_micro_batch(130, 512)
    with pytest.raises(TrainError, match=r"at most 4096\)"):
        check_micro_batch(5000, 8)
    assert "gradient_checkpointing" in check_micro_batch(128, 256)
    assert check_micro_batch(16, 256) is None  # AURORA's per-GPU batch

    def check(batch: int, resolution: int) -> tuple[int, str, str]:
        raw = tiny_config(tiny_model, run_dir, tmp_path / "out", train={"batch_size": batch},
                          data={**tiny_config(tiny_model, run_dir, tmp_path)["data"], "resolution": resolution})
        (tmp_path / "c.yaml").write_bytes(F.dump(raw))
        code = train_main(["--config", str(tmp_path / "c.yaml"), "--check"])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, _, err = check(600, 256)  # refused as the file loads
    assert code == 2 and "train.batch_size: 600 images" in err and "gradient_accumulation" in err
    code, _, err = check(64, 256)  # the tiny model's VAE downscales 2x: 4x the latent, refused before training
    assert code == 2 and "at most 32)" in err
    code, out, _ = check(8, 256)
    assert code == 0 and out.startswith("warning: ") and "gradient_checkpointing" in out and "config OK" in out
    code, out, _ = check(2, 256)
    assert code == 0 and "warning" not in out


def test_check_reads_yaml11_exponents_and_needs_no_torch(tiny_model, run_dir, tmp_path):
    import subprocess

    raw = tiny_config(tiny_model, run_dir, tmp_path / "out")
    text = F.dump(raw).decode().replace("learning_rate: 0.002", "learning_rate: 2e-3")  # PyYAML: text, not a number
    assert "learning_rate: 2e-3" in text
    assert parse_config(yaml.safe_load(text)).train.learning_rate == 0.002
    (tmp_path / "c.yaml").write_text(text)
    probe = ("import sys; from simedit.train.cli import main; rc = main(sys.argv[1:]); "
             "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", probe, "--config", str(tmp_path / "c.yaml"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("config OK: instruct_pix2pix model") and "a new run" in r.stdout
    assert not (tmp_path / "out").exists()  # --check writes nothing


def test_a_fresh_run_never_lands_on_an_earlier_runs_work(tiny_model, run_dir, tmp_path):
    out = tmp_path / "out"
    (out / "checkpoints" / "step-000040").mkdir(parents=True)
    (out / "checkpoints" / "step-000040" / "state.pt").write_bytes(b"x")
    raw = tiny_config(tiny_model, run_dir, out)
    line = one_line(F.run_case(F.Case("fresh", F.dump(raw)), tmp_path / "a", check_cmd, train_main, tmp_path))
    assert "output_dir: holds checkpoints up to step 40" in line and "--resume" in line
    resume = F.run_case(F.Case("resume", F.dump(raw)), tmp_path / "b", lambda p, o: check_cmd(p, o) + ["--resume"],
                        train_main, tmp_path)
    assert resume.code == 0 and not F.problems(resume)  # --check lists checkpoints, never loads one
    (tmp_path / "file").write_text("x")
    raw["output_dir"] = str(tmp_path / "file")
    assert "output_dir is a file" in one_line(F.run_case(F.Case("file", F.dump(raw)), tmp_path / "c", check_cmd,
                                                         train_main, tmp_path))
    raw["output_dir"] = str(tmp_path / "new")
    line = one_line(F.run_case(F.Case("no ckpt", F.dump(raw)), tmp_path / "d", lambda p, o: check_cmd(p, o) + ["--resume"],
                               train_main, tmp_path))
    assert "no checkpoint to resume from" in line


def _poison_after(tr: Trainer, good_steps: int) -> None:
    """The update after `good_steps` steps runs at an infinite learning rate (as `learning_rate:
    .inf` did before the config refused it), so the weights turn non-finite mid-run."""
    tr.lr_scheduler.lr_lambdas[0] = lambda s: 1.0 if s < good_steps else float("inf")


def test_a_nan_run_stops_naming_the_step_and_keeps_the_good_checkpoints(tiny_model, run_dir, tmp_path):
    out = tmp_path / "o"
    raw = tiny_config(tiny_model, run_dir, out, validation={"num_examples": 0},
                      train={"max_steps": 8, "checkpoint_every": 1, "keep_checkpoints": 2, "log_every": 1})
    tr = Trainer(parse_config(raw))
    _poison_after(tr, 4)
    with pytest.raises(TrainError) as e:
        tr.run(progress=False)
    msg = str(e.value)
    assert msg.startswith("step 5: its update made the weights non-finite; stopped, nothing of this step saved; "
                          "last good checkpoint: ") and msg.endswith("step-000004 (lower train.learning_rate or check "
                                                                    "the data, then --resume)"), msg
    assert len(re.sub(r"/\S*/", "", msg)) <= MAX_LINE
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert ckpts == ["step-000003", "step-000004"] and not (out / "final").exists()  # the good ones kept
    state = torch.load(out / "checkpoints" / "step-000004" / "state.pt", map_location="cpu", weights_only=False)
    assert all(torch.isfinite(v).all() for v in state["unet"].values())
    log_steps = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert max(log_steps) == 5  # the loss of step 5 was finite (the weights went bad in its update)
    # Continue from the kept checkpoint at a lower learning rate: the config's rate takes effect.
    raw["train"]["learning_rate"] = 5e-4
    tr = Trainer(parse_config(raw))
    r = tr.run(resume=True, stop_after=2, progress=False)
    assert r.start_step == 4 and all(np.isfinite(r.losses)) and tr.lr_scheduler.get_last_lr()[0] == pytest.approx(5e-4)


def test_an_infinite_learning_rate_never_saves_a_nan_model(tiny_model, run_dir, tmp_path):
    """The measured failure: `learning_rate: .inf` trained to a NaN loss and saved the NaN model
    with exit 0. The config refuses it now; were it to get through, the loss check stops the run."""
    out = tmp_path / "o"
    cfg = parse_config(tiny_config(tiny_model, run_dir, out, validation={"num_examples": 0},
                                   train={"max_steps": 4, "checkpoint_every": 2}))
    cfg.train.learning_rate = float("inf")  # past the validator, as before the fix
    with pytest.raises(TrainError, match=r"^step 2: the loss is nan; stopped, nothing of this step saved; no checkpoint yet"):
        Trainer(cfg).run(progress=False)
    assert not (out / "checkpoints").exists() and not (out / "final").exists()


# --- encodings --------------------------------------------------------------------------------


def test_non_utf8_and_bom_inputs(tiny_model, run_dir, tmp_path, capsys):
    raw = tiny_config(tiny_model, run_dir, tmp_path / "out")
    line = one_line(F.run_case(F.Case("latin1", b"# caf\xe9\n" + F.dump(raw)), tmp_path / "a", check_cmd, train_main,
                               tmp_path))
    assert "not UTF-8 text: byte 5 is 0xe9" in line
    aj = write_aurora_json(tmp_path / "aj", n=2)
    aj.write_bytes(aj.read_bytes().replace(b"make the", b"caf\xe9 the", 1))
    raw["data"]["datasets"] = [{"name": "aj", "type": "aurora_json", "path": str(aj)}]
    raw["data"]["stages"] = [{"mix": {"aj": 1}}]
    line = one_line(F.run_case(F.Case("json", F.dump(raw)), tmp_path / "b", check_cmd, train_main, tmp_path))
    assert "pairs.json: not UTF-8 text" in line
    # video-pairs: a latin-1 label file, a latin-1 CSV, an Excel CSV (BOM) with its id column found
    (tmp_path / "v").mkdir()
    (tmp_path / "l.json").write_bytes(b'[{"id": 1, "label": "caf\xe9"}]')
    assert video_main(["ssv2", "--videos", str(tmp_path / "v"), "--labels", str(tmp_path / "l.json"),
                       "--out", str(tmp_path / "o1")]) == 2
    assert "l.json: not UTF-8 text: byte 24 is 0xe9" in capsys.readouterr().err
    (tmp_path / "s.csv").write_bytes(b"video_id,start_frame,stop_frame,narration\nv,1,5,caf\xe9\n")
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "s.csv"),
                       "--out", str(tmp_path / "o2")]) == 2
    assert "s.csv: not UTF-8 text" in capsys.readouterr().err
    (tmp_path / "bom.csv").write_bytes("\ufeffvideo_id,start_frame,stop_frame,narration\nv,1,5,caf\u00e9\n".encode())
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "bom.csv"),
                       "--out", str(tmp_path / "o3")]) == 0
    assert json.loads((tmp_path / "o3" / "report.json").read_text())["rejected"] == {"missing_video": 1}
    # evaluate: a latin-1 triples file
    (tmp_path / "t.json").write_bytes(b'[{"source": "a.png", "change": "caf\xe9", "no_change": "x"}]')
    assert eval_main(["discedit", "--model", str(tiny_model), "--triples", str(tmp_path / "t.json"),
                      "--out", str(tmp_path / "e")]) == 2
    assert "t.json: not UTF-8 text" in capsys.readouterr().err


# --- video-pairs and evaluate options -----------------------------------------------------------


def _video(tmp_path: Path, args: list[str], capsys) -> tuple[int, str]:
    (tmp_path / "v").mkdir(exist_ok=True)
    (tmp_path / "s.csv").write_text("video_id,start_frame,stop_frame,narration\nv,1,5,push it\n")
    code = video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "s.csv"),
                       "--out", str(tmp_path / "o"), *args])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("args, expected", [
    (["--size", "0"], "--size: must be >= 4 (got 0)"),
    (["--max-shift", "nan"], "--max-shift: must be a finite number"),
    (["--max-zoom", "inf"], "--max-zoom: must be a finite number"),
    (["--min-similarity", "-0.5"], "--min-similarity: must be >= 0"),
    (["--candidates", "1", "--best-pair"], "--candidates: must be >= 2"),
    (["--limit", "0"], "--limit: must be >= 1"),
    (["--last-offset", "100000"], "--last-offset: must be <= 300"),
])
def test_video_pairs_numeric_flags_are_one_line(tmp_path, capsys, args, expected):
    code, err = _video(tmp_path, args, capsys)
    assert code == 2 and err.startswith(f"video-pairs: error: {expected}") and "\n" not in err, err


@pytest.mark.parametrize("text, expected", [
    ("size: abc\n", "opts.yaml: size: expected an integer (got 'abc')"),
    ("pixel_tolerance: .nan\n", "opts.yaml: pixel_tolerance: must be a finite number"),
    ("max_side: 0\n", "opts.yaml: max_side: must be >= 8"),
    ("camera_motion: maybe\n", "opts.yaml: camera_motion: "),
    ("drop_words: [1, 2]\n", "opts.yaml: drop_words: expected a comma-separated text"),
    ("- size\n", "opts.yaml: expected a mapping of options"),
])
def test_video_pairs_config_values_name_the_file_and_key(tmp_path, capsys, text, expected):
    (tmp_path / "opts.yaml").write_text(text)
    code, err = _video(tmp_path, ["--config", str(tmp_path / "opts.yaml")], capsys)
    assert code == 2 and expected in err and "\n" not in err and len(err) <= MAX_LINE, err


def test_a_bad_csv_row_is_a_counted_skip_and_all_bad_rows_an_error(tmp_path, capsys):
    from test_train_video import moving_square, write_video

    write_video(tmp_path / "v" / "P01.mp4", moving_square(20))
    (tmp_path / "s.csv").write_text("video_id,start_timestamp,stop_timestamp,narration\n"
                                    "P01,nan,inf,slide it\n"  # nan/inf timestamps: a traceback before
                                    "P01,0.1,1.5,push the block\n"
                                    "P01,0.2,0.9,push,it,again\n"  # extra fields: a traceback before
                                    "P01,1e400,2,slide\n")
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "s.csv"),
                       "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report == {"pairs": str(tmp_path / "o" / "pairs.json"), "accepted": 1, "rejected": {"bad_row": 3}}
    (tmp_path / "bad.csv").write_text("video_id,start_frame,stop_frame,narration\nP01,x,3,a\nP01,1,2,b,c\n")
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "bad.csv"),
                       "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("bad.csv: start_frame/stop_frame: line 2: bad start/stop 'x'/'3' (expected integer frame "
                        "numbers); no row could be read") and "\n" not in err, err
    (tmp_path / "quote.csv").write_text('video_id,start_frame,stop_frame,narration\nP01,1,5,"a\n' + "x" * 140_000)
    assert video_main(["segments", "--videos", str(tmp_path / "v"), "--csv", str(tmp_path / "quote.csv"),
                       "--out", str(tmp_path / "o3")]) == 2  # an unclosed quote swallowing the file
    err = capsys.readouterr().err.strip()
    assert "quote.csv: the row after line 1: not readable as CSV (field larger than field limit" in err, err
    assert "\n" not in err


@pytest.mark.parametrize("args, expected", [
    (["--limit", "-1"], "--limit: must be >= 1 (got -1)"),  # sliced off the last triple before
    (["--steps", "0"], "--steps: must be >= 1"),
    (["--guidance-scale", "nan"], "--guidance-scale: must be a finite number"),
    (["--image-guidance-scale", "inf"], "--image-guidance-scale: must be a finite number"),
    (["--resolution", "100"], "--resolution: must be a multiple of 8"),
    (["--seeds", "-1"], "--seeds[0]: must be >= 0"),
])
def test_evaluate_options_are_one_line_before_any_model_loads(tmp_path, capsys, args, expected):
    (tmp_path / "t.json").write_text('[{"source": "a.png", "change": "x", "no_change": "y"}]')
    code = eval_main(["discedit", "--model", str(tmp_path / "no-model"), "--triples", str(tmp_path / "t.json"),
                      "--out", str(tmp_path / "e"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"evaluate: error: {expected}") and "\n" not in err, err
    assert not (tmp_path / "e").exists()


def test_evaluate_model_path_and_outputs_are_one_line(tiny_model, tmp_path, capsys):
    (tmp_path / "t.json").write_text('[{"source": "a.png", "change": "x", "no_change": "y"}]')
    (tmp_path / "file").write_text("x")
    cases = [
        (["discedit", "--model", str(tmp_path), "--triples", str(tmp_path / "t.json")], "--model: not a diffusers"),
        (["discedit", "--model", str(tiny_model), "--triples", str(tmp_path / "t.json"), "--out", str(tmp_path / "file")],
         "--out: the output is a file"),
        (["discedit", "--model", str(tiny_model), "--triples", str(tmp_path)], "cannot read triples file: it is a folder"),
        (["reference", "--copy-baseline", "--run", str(tmp_path), "--dilate", "-1"], "--dilate: must be >= 0"),
        (["triples", str(tmp_path), "--out", str(tmp_path)], "--out: the output is a folder"),
    ]
    for args, expected in cases:
        assert eval_main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err, (args, err)


def test_train_command_options_are_one_line(tiny_model, run_dir, tmp_path, capsys):
    from simedit.train.trainer.loop import make_accelerator

    (tmp_path / "file").write_text("x")
    (tmp_path / "c.yaml").write_bytes(F.dump(tiny_config(tiny_model, run_dir, tmp_path / "out")))
    cases = [
        (["make-demo-data", str(tmp_path / "d"), "--pairs", "0"], "--pairs: must be in 1..100000 (got 0)"),
        (["make-demo-data", str(tmp_path / "file")], "file: OUT_DIR: is a file"),
        (["make-tiny-model", str(tmp_path / "m"), "--seed", "-1"], "--seed: must be in 0.."),
        (["--config", str(tmp_path / "c.yaml"), "--stop-after", "0"], "--stop-after: must be at least 1"),
    ]
    for args, expected in cases:
        assert train_main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err, (args, err)
    assert not (tmp_path / "d").exists() and not (tmp_path / "m").exists() and not (tmp_path / "out").exists()
    with pytest.raises(TrainError, match=r"--device: not a torch device: 'gpu0'"):
        make_accelerator(parse_config(tiny_config(tiny_model, run_dir, tmp_path / "out")), "gpu0")
