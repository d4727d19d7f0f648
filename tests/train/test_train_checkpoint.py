"""Checkpoints go through the one atomic write: a crash leaves no half checkpoint that resume
would pick, and only the last K complete ones are kept."""
import torch

from simedit.train.trainer.checkpoint import checkpoint_dir, list_checkpoints, load_latest, save_checkpoint


def test_keep_last_k_and_a_crashed_write_is_never_resumed(tmp_path):
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, {"step": step, "w": torch.full((3,), float(step))}, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4]
    # A crash while writing step 5: its folder holds only the temporary, no state.pt.
    torn = checkpoint_dir(tmp_path) / "step-000005"
    torn.mkdir()
    (torn / ".state.pt.tmp.999").write_bytes(b"half a checkpoint")
    step, state = load_latest(tmp_path)
    assert step == 4 and torch.equal(state["w"], torch.full((3,), 4.0))
    save_checkpoint(tmp_path, 5, {"step": 5}, keep=2)  # the resumed run writes step 5 again
    assert sorted(p.name for p in checkpoint_dir(tmp_path).iterdir()) == ["step-000004", "step-000005"]
    assert [p.name for p in torn.iterdir()] == ["state.pt"]  # the crash's temporary is gone
    assert load_latest(tmp_path) == (5, {"step": 5})
