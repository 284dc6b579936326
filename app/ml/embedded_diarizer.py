"""Speaker diarization that runs entirely from weights shipped inside installed wheels.

pyannote's `SpeakerDiarization` is fed two local models: the PyanNet segmentation checkpoint bundled with
whisperx, and Resemblyzer's pretrained d-vector `VoiceEncoder` as the speaker embedding. Nothing is fetched
from a model hub, so it works offline and without an access token.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import whisperx
from pyannote.audio import Audio, Inference, Model, Pipeline
from pyannote.audio.core.inference import BaseInference
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.audio.pipelines.clustering import AgglomerativeClustering
from pyannote.pipeline.parameter import ParamDict, Uniform
from resemblyzer import VoiceEncoder
from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram
from resemblyzer.hparams import audio_norm_target_dBFS, partials_n_frames, sampling_rate
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

logger = logging.getLogger(__name__)

SEGMENTATION_CHECKPOINT = Path(whisperx.__file__).parent / "assets" / "pytorch_model.bin"

# Chosen with bench/tune_embedded_diarizer.py on pyannote's sample and synthetic dialogues. Resemblyzer's
# d-vectors are non-negative, so even different speakers sit close in cosine distance: the clustering
# threshold is far below the ones tuned for pyannote's own embeddings, and a dense segmentation step gives
# enough embeddings for `min_cluster_size` to absorb stray ones.
SEGMENTATION_STEP = 0.1
EMBEDDING_EXCLUDE_OVERLAP = True
PARAMETERS = {
    "segmentation": {"threshold": 0.5, "min_duration_off": 0.2},
    "clustering": {"method": "average", "threshold": 0.22, "min_cluster_size": 10},
}
# Shortest masked speech (s) worth an embedding (a partial is 1.6 s; less is mostly noise), and mel frames
# between consecutive partials (50% overlap).
MIN_EMBEDDED_SPEECH = 0.5
PARTIAL_STEP = partials_n_frames // 2


class ResemblyzerEmbedding(BaseInference):
    """Resemblyzer's d-vector encoder behind the interface pyannote expects of a speaker embedding.

    A (masked) waveform is turned into mel frames, cut into partial utterances of `partials_n_frames`
    frames, and the L2-normalised mean of the partials' embeddings is its embedding.
    """

    sample_rate = sampling_rate
    dimension = 256
    metric = "cosine"

    def __init__(
        self,
        device: torch.device | None = None,
        *,
        min_duration: float = MIN_EMBEDDED_SPEECH,
        partial_step: int = PARTIAL_STEP,
        batch_size: int = 256,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.encoder = VoiceEncoder(device=self.device, verbose=False).eval()
        self.min_num_samples = round(min_duration * self.sample_rate)
        self.partial_step = partial_step
        self.batch_size = batch_size

    def to(self, device: torch.device) -> ResemblyzerEmbedding:
        self.encoder.to(device)
        self.encoder.device = device
        self.device = device
        return self

    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        """Embeddings of (batch, 1, samples) waveforms, only over samples where `masks` (batch, frames) is on.

        Rows whose active audio is shorter than `min_num_samples` are NaN, as with pyannote's own wrappers.
        """
        batch_size, num_channels, num_samples = waveforms.shape
        if num_channels != 1:
            raise ValueError(f"expected mono waveforms, got {num_channels} channels")
        signals = waveforms[:, 0].cpu()
        if masks is None:
            active = torch.ones_like(signals, dtype=torch.bool)
        else:
            active = F.interpolate(masks[:, None].float().cpu(), size=num_samples, mode="nearest")[:, 0] > 0.5

        partials: list[torch.Tensor] = []
        owners: list[int] = []
        for row, (signal, keep) in enumerate(zip(signals, active, strict=True)):
            speech = signal[keep].numpy()
            if len(speech) < self.min_num_samples:
                continue
            # The encoder was trained on volume-normalised speech and reads a power (not log) mel spectrogram.
            mel = torch.from_numpy(wav_to_mel_spectrogram(normalize_volume(speech, audio_norm_target_dBFS)))
            for start in self._partial_starts(len(mel)):
                partials.append(mel[start : start + partials_n_frames])
                owners.append(row)

        embeddings = np.full((batch_size, self.dimension), np.nan, dtype=np.float32)
        if not partials:
            return embeddings
        partial_embeddings = torch.cat(
            [
                self._encode(partials[i : i + self.batch_size])
                for i in range(0, len(partials), self.batch_size)
            ]
        )
        owner_index = torch.tensor(owners)
        sums = torch.zeros(batch_size, self.dimension).index_add_(0, owner_index, partial_embeddings)
        rows = owner_index.unique()
        embeddings[rows.numpy()] = F.normalize(sums[rows], dim=1).numpy()
        return embeddings

    def _partial_starts(self, num_frames: int) -> list[int]:
        """Starts of full-length partials covering every frame; one shorter partial if there are too few frames."""
        if num_frames <= partials_n_frames:
            return [0]
        starts = list(range(0, num_frames - partials_n_frames + 1, self.partial_step))
        if starts[-1] + partials_n_frames < num_frames:
            starts.append(num_frames - partials_n_frames)
        return starts

    @torch.inference_mode()
    def _encode(self, partials: list[torch.Tensor]) -> torch.Tensor:
        """`VoiceEncoder.forward` for partials of unequal length: each ends at its own last real frame."""
        lengths = torch.tensor([len(partial) for partial in partials])
        padded = pad_sequence(partials, batch_first=True).to(self.device)
        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.encoder.lstm(packed)
        raw = self.encoder.relu(self.encoder.linear(hidden[-1]))
        return F.normalize(raw, dim=1).cpu()


class EmbeddedSpeakerDiarization(SpeakerDiarization):
    """`SpeakerDiarization` with in-memory models and agglomerative clustering.

    The parent constructor always loads a PLDA from the hub (only VBx clustering uses it) and resolves the
    embedding by name, so this one sets up the same state from the given objects instead.
    """

    def __init__(
        self,
        segmentation: Model,
        embedding: ResemblyzerEmbedding,
        *,
        segmentation_step: float = SEGMENTATION_STEP,
        embedding_exclude_overlap: bool = EMBEDDING_EXCLUDE_OVERLAP,
        segmentation_batch_size: int = 32,
        embedding_batch_size: int = 32,
    ) -> None:
        if segmentation.specifications.powerset:
            raise ValueError("expected a multi-label segmentation model, whose threshold PARAMETERS tunes")
        Pipeline.__init__(self)
        self.legacy = False
        self.segmentation_step = segmentation_step
        self.embedding_batch_size = embedding_batch_size
        self.embedding_exclude_overlap = embedding_exclude_overlap
        self.der_variant = {"collar": 0.0, "skip_overlap": False}

        segmentation.eval()
        duration = segmentation.specifications.duration
        self._segmentation = Inference(
            segmentation,
            duration=duration,
            step=segmentation_step * duration,
            skip_aggregation=True,
            batch_size=segmentation_batch_size,
        )
        self.segmentation = ParamDict(threshold=Uniform(0.1, 0.9), min_duration_off=Uniform(0.0, 1.0))

        self._embedding = embedding
        self._audio = Audio(sample_rate=embedding.sample_rate, mono="downmix")
        self.clustering = AgglomerativeClustering(metric=embedding.metric)
        self._expects_num_speakers = False

    def default_parameters(self) -> dict:
        return PARAMETERS


def build_embedded_pipeline(device: str = "cpu") -> SpeakerDiarization:
    """A pyannote.audio SpeakerDiarization pipeline assembled from local parts, instantiated with tuned parameters."""
    torch_device = torch.device(device)
    logger.info("Loading embedded diarizer (segmentation %s, Resemblyzer embedding)", SEGMENTATION_CHECKPOINT)
    segmentation = Model.from_pretrained(SEGMENTATION_CHECKPOINT)
    pipeline = EmbeddedSpeakerDiarization(segmentation, ResemblyzerEmbedding(torch_device))
    pipeline.instantiate(PARAMETERS)
    return pipeline.to(torch_device)
