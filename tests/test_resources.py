"""Resources: a GPU out-of-memory error says how to fit; progress bars stay out of logs."""
import numpy as np
import pytest
import torch

from semisup_utils.base.device import DeviceMemoryError
from semisup_utils.base.progress import bar
from semisup_utils.teachers import features
from semisup_utils.training import train as train_module


def _oom(*args, **kwargs):
    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_training_out_of_memory_names_the_batch_size(monkeypatch):
    monkeypatch.setattr(train_module, "augment_batch", _oom)
    images = np.zeros((8, 32, 32, 3), np.uint8)
    with pytest.raises(DeviceMemoryError, match=r"batch_size=64.*batch_size=32"):
        train_module.train(images, np.zeros(8, int), epochs=1, batch_size=64, device="cpu",
                           progress=False)


def test_embedding_out_of_memory_names_the_batch_size(monkeypatch, tmp_path):
    monkeypatch.setattr(features, "_embed_arrays", _oom)
    with pytest.raises(DeviceMemoryError, match=r"embedding with effnet-lite0@32.*batch_size=16"):
        features.embed(np.zeros((4, 32, 32, 3), np.uint8), batch_size=32, cache_dir=tmp_path,
                       progress=False)
    assert not list(tmp_path.rglob("*.npz")), "nothing half-computed may be cached"


def test_progress_bar_hidden_off_a_terminal(capsys):
    # pytest's captured stderr is not a terminal: the automatic bar writes nothing
    for _ in bar(range(3), desc="quiet"):
        pass
    assert "quiet" not in capsys.readouterr().err
    for _ in bar(range(3), show=True, desc="forced"):
        pass
    assert "forced" in capsys.readouterr().err
