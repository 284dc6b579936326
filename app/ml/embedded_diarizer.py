"""Speaker diarization that runs entirely from weights shipped inside installed wheels.

pyannote's `SpeakerDiarization` is fed two local models: the PyanNet segmentation checkpoint bundled with
whisperx, and Resemblyzer's pretrained d-vector `VoiceEncoder` as the speaker embedding. Nothing is fetched
from a model hub, so it works offline and without an access token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio import Audio, Inference, Model, Pipeline
from pyannote.audio.core.inference import BaseInference
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.audio.pipelines.clustering import AgglomerativeClustering
from pyannote.core import SlidingWindowFeature
from pyannote.pipeline.parameter import ParamDict, Uniform
from resemblyzer import VoiceEncoder
from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram
from resemblyzer.hparams import audio_norm_target_dBFS, mel_window_step, partials_n_frames, sampling_rate
from scipy.spatial.distance import cdist
from torch.nn.utils.rnn import pad_sequence

from app.ml.borrowed_embeddings import borrow_embeddings, even_windows
from app.ml.pooled_embeddings import TIMELINE_HOP, pool_partials
from app.ml.segmentation import (
    LONG_WINDOW_STEP,
    SEGMENTATION_CHECKPOINT,
    WINDOW_STEP,
    is_long_recording,
    load_segmentation,
    shared_activity,
    specifications,
)

logger = logging.getLogger(__name__)

# Chosen with bench/tune_embedded_diarizer.py on pyannote's sample and synthetic dialogues. Resemblyzer's
# d-vectors are non-negative, so even different speakers sit close in cosine distance: the clustering
# threshold is far below the ones tuned for pyannote's own embeddings, and a dense segmentation step gives
# enough embeddings for `min_cluster_size` to absorb stray ones (`app.ml.segmentation` sets the steps).
# pyannote caps `min_cluster_size` at a tenth of the embeddings, so 120 acts only on long recordings, where
# stray clusters otherwise become extra speakers: over 10.5 minutes, 7 of 4 with 10 (DER 0.110), 4 with 40;
# over an hour, 6 of 4 with 40 (DER 0.129 against 0.050 with the count given), 4 with 120 (0.050). The price: in
# a long recording, a voice active in fewer than 120 windows (a minute or two of speech) joins its nearest one.
SEGMENTATION_STEP = WINDOW_STEP
LONG_SEGMENTATION_STEP = LONG_WINDOW_STEP
EMBEDDING_EXCLUDE_OVERLAP = True
PARAMETERS: dict[str, dict[str, float | str]] = {
    "segmentation": {"threshold": 0.5, "min_duration_off": 0.2},
    "clustering": {"method": "average", "threshold": 0.22, "min_cluster_size": 120},
}
# Shortest masked speech (s) worth an embedding (a partial is 1.6 s; less is mostly noise), and mel frames
# between consecutive partials (50% overlap).
MIN_EMBEDDED_SPEECH = 0.5
PARTIAL_STEP = partials_n_frames // 2
TARGET_POWER = 10 ** (audio_norm_target_dBFS / 10)
SILENT_POWER = 1e-10
# Most embeddings that go through the linkage at once (its memory grows with the square of this).
MAX_CLUSTERED = 2000
MEL_HOP_SAMPLES = sampling_rate * mel_window_step // 1000


def compile_audio_kernels() -> None:
    """Have librosa compile the numba kernels it compiles when its core is first used (13 s on 2 cores): loading
    the diarizer does it, so the first job does not, and an image build does it once for good (numba caches the
    code beside librosa; NUMBA_CPU_NAME=generic keeps that cache valid on any x86-64 host)."""
    wav_to_mel_spectrogram(np.zeros(sampling_rate, dtype=np.float32))


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
        compile_audio_kernels()
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
        rows = torch.tensor(sorted(set(owners)))
        embeddings[rows.numpy()] = F.normalize(sums[rows], dim=1).numpy()
        return embeddings

    def _partial_starts(self, num_frames: int, step: int | None = None) -> list[int]:
        """Starts of full-length partials covering every frame; one shorter partial if there are too few frames."""
        if num_frames <= partials_n_frames:
            return [0]
        starts = list(range(0, num_frames - partials_n_frames + 1, step or self.partial_step))
        if starts[-1] + partials_n_frames < num_frames:
            starts.append(num_frames - partials_n_frames)
        return starts

    def timeline(self, waveform: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of partials every `hop` mel frames over a whole recording, and each one's start (s).

        Each partial is brought to the encoder's training loudness on its own (the spectrogram is power, so a
        gain scales it by the gain squared). Spectrograms are made one batch of partials at a time, so memory
        does not grow with the recording's length.
        """
        num_frames = 1 + len(waveform) // MEL_HOP_SAMPLES
        starts = np.asarray(self._partial_starts(num_frames, hop))
        embeddings = np.empty((len(starts), self.dimension), dtype=np.float32)
        for first in range(0, len(starts), self.batch_size):
            batch = starts[first : first + self.batch_size]
            mel, offset = self._mel_frames(waveform, batch[0], min(batch[-1] + partials_n_frames, num_frames))
            partials = [mel[start - offset : start - offset + partials_n_frames] for start in batch]
            powers = self._partial_powers(waveform, batch)
            gains = TARGET_POWER / np.maximum(powers, SILENT_POWER)
            scaled = [torch.from_numpy(p * np.float32(g)) for p, g in zip(partials, gains, strict=True)]
            embeddings[first : first + len(batch)] = self._encode(scaled).numpy()
        return embeddings, starts * MEL_HOP_SAMPLES / self.sample_rate

    @staticmethod
    def _mel_frames(waveform: np.ndarray, first: int, stop: int) -> tuple[np.ndarray, int]:
        """Mel frames `first`..`stop` of the whole recording's spectrogram (frames start at `offset`), computed
        from the samples around them only: two frames of margin keep every window clear of the cut."""
        offset = max(0, first - 2)
        piece = waveform[offset * MEL_HOP_SAMPLES : (stop + 2) * MEL_HOP_SAMPLES]
        return wav_to_mel_spectrogram(piece), offset

    @staticmethod
    def _partial_powers(waveform: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Mean power of the samples under each partial starting at `starts` (in mel frames)."""
        length = partials_n_frames * MEL_HOP_SAMPLES
        return np.array(
            [np.mean(np.square(waveform[s * MEL_HOP_SAMPLES : s * MEL_HOP_SAMPLES + length])) for s in starts]
        )

    @torch.inference_mode()
    def _encode(self, partials: list[torch.Tensor]) -> torch.Tensor:
        """`VoiceEncoder.forward` for partials of any length: each ends at its own last real frame.

        All partials go through the LSTM as one dense batch, shorter ones padded at the end: the LSTM reads
        forward, so its output at a partial's last real frame is what a packed batch would give, and a packed
        sequence takes a far slower path (one step at a time) on the CPU.
        """
        lengths = torch.tensor([len(partial) for partial in partials])
        if bool((lengths == partials_n_frames).all()):
            _, (last, _) = self.encoder.lstm(torch.stack(partials).to(self.device))
            hidden = last[-1]
        else:
            outputs, _ = self.encoder.lstm(pad_sequence(partials, batch_first=True).to(self.device))
            hidden = outputs[torch.arange(len(partials)), lengths.to(self.device) - 1]
        raw = self.encoder.relu(self.encoder.linear(hidden))
        return F.normalize(raw, dim=1).cpu()


class BoundedAgglomerativeClustering(AgglomerativeClustering):
    """pyannote's agglomerative clustering with memory that grows linearly with the recording's length.

    The linkage needs all pairwise distances. Up to `max_clustered` embeddings are clustered as they are; beyond
    that, an evenly spread subset (every part of the recording represented) is clustered and every embedding
    joins its nearest cluster centroid, as pyannote then does for the embeddings it left out.
    """

    def __init__(self, metric: str = "cosine", *, max_clustered: int = MAX_CLUSTERED) -> None:
        super().__init__(metric=metric)
        self.max_clustered = max_clustered

    def cluster(
        self,
        embeddings: np.ndarray,
        min_clusters: int | None = None,
        max_clusters: int | None = None,
        num_clusters: int | None = None,
    ) -> np.ndarray:
        if len(embeddings) <= self.max_clustered:
            return np.asarray(super().cluster(embeddings, min_clusters, max_clusters, num_clusters))
        subset = embeddings[np.linspace(0, len(embeddings) - 1, self.max_clustered).round().astype(int)]
        _, clusters = np.unique(
            super().cluster(subset.copy(), min_clusters, max_clusters, num_clusters), return_inverse=True
        )
        centroids = np.vstack([subset[clusters == k].mean(axis=0) for k in range(clusters.max() + 1)])
        return np.asarray(cdist(embeddings, centroids, metric=self.metric).argmin(axis=1))


class EmbeddedSpeakerDiarization(SpeakerDiarization):
    """`SpeakerDiarization` with in-memory models and agglomerative clustering of bounded memory.

    The parent constructor always loads a PLDA from the hub (only VBx clustering uses it) and resolves the
    embedding by name, so this one sets up the same state from the given objects instead.
    """

    def __init__(
        self,
        segmentation: Model,
        embedding: ResemblyzerEmbedding,
        *,
        segmentation_step: float = SEGMENTATION_STEP,
        long_segmentation_step: float = LONG_SEGMENTATION_STEP,
        embedding_exclude_overlap: bool = EMBEDDING_EXCLUDE_OVERLAP,
        segmentation_batch_size: int = 32,
        embedding_batch_size: int = 32,
        pooled_embeddings: bool = False,
        borrowed_embeddings: bool = True,
    ) -> None:
        Pipeline.__init__(self)  # type: ignore[no-untyped-call]  # pyannote's Pipeline leaves it unannotated
        self.legacy = False
        self.segmentation_step = segmentation_step
        self.long_segmentation_step = long_segmentation_step
        self.embedding_batch_size = embedding_batch_size
        self.embedding_exclude_overlap = embedding_exclude_overlap
        self.pooled_embeddings = pooled_embeddings
        self.borrowed_embeddings = borrowed_embeddings
        self.der_variant = {"collar": 0.0, "skip_overlap": False}

        segmentation.eval()
        specs = specifications(segmentation)
        duration = specs.duration
        self._segmentation = Inference(
            segmentation,
            duration=duration,
            step=segmentation_step * duration,
            skip_aggregation=True,
            batch_size=segmentation_batch_size,
        )
        if specs.powerset:  # its classes are already binary: no threshold
            self.segmentation = ParamDict(min_duration_off=Uniform(0.0, 1.0))
        else:
            self.segmentation = ParamDict(threshold=Uniform(0.1, 0.9), min_duration_off=Uniform(0.0, 1.0))

        self._embedding = embedding
        self._audio = Audio(sample_rate=embedding.sample_rate, mono="downmix")
        self.clustering = BoundedAgglomerativeClustering(metric=embedding.metric)
        self._expects_num_speakers = False

    def default_parameters(self) -> dict[str, dict[str, float | str]]:
        return PARAMETERS

    def get_segmentations(
        self, file: MutableMapping[str, Any], hook: Callable[..., None] | None = None
    ) -> SlidingWindowFeature:
        """Segmentation windows every `segmentation_step` x their duration, `long_segmentation_step` past
        LONG_RECORDING seconds; the shared activity when there is one."""
        shared = shared_activity()
        if shared is not None:
            return shared.windows
        long = is_long_recording(self._audio.get_duration(file))
        step = self.long_segmentation_step if long else self.segmentation_step
        self._segmentation.step = step * self._segmentation.duration
        return super().get_segmentations(file, hook=hook)

    def get_embeddings(
        self,
        file: MutableMapping[str, Any],
        binary_segmentations: SlidingWindowFeature,
        exclude_overlap: bool = False,
        hook: Callable[..., None] | None = None,
    ) -> np.ndarray:
        """(chunks, local speakers, dimension) embeddings.

        pyannote's own way (the default) embeds every (window, speaker) mask on its own: with windows a second
        apart, each second of speech is encoded about ten times. With `pooled_embeddings`, each stretch is
        encoded once and a (window, speaker) embedding is the mean of the partials in the window that the
        speaker's mask covers, weighted by how much it covers them: cheaper to embed, but less accurate on real
        calls (bench/diarizer.py). Masks too short to embed give NaN rows, which clustering leaves out.
        """
        if not self.pooled_embeddings:
            if not (self.borrowed_embeddings and is_long_recording(self._audio.get_duration(file))):
                return np.asarray(super().get_embeddings(file, binary_segmentations, exclude_overlap, hook))
            even = super().get_embeddings(file, even_windows(binary_segmentations), exclude_overlap, hook)
            return borrow_embeddings(even, binary_segmentations)
        # While tuning, a file's embeddings are reused across settings that keep its segmentation threshold.
        cached = file.get("training_cache/pooled", {}) if self.training else {}
        if cached.get("threshold") == self.segmentation.threshold:
            return np.asarray(cached["embeddings"])
        waveform, _ = self._audio(file)
        partials, partial_starts = self._embedding.timeline(waveform[0].numpy(), TIMELINE_HOP)
        masks = np.nan_to_num(binary_segmentations.data, nan=0.0)
        if exclude_overlap:
            clean = masks * (masks.sum(axis=2, keepdims=True) < 2)
            # As pyannote does: keep the overlapping speech where too little is left without it.
            enough = clean.sum(axis=1, keepdims=True) >= self._min_embedded_frames(binary_segmentations)
            masks = np.where(enough, clean, masks)
        embeddings = pool_partials(
            partials,
            partial_starts,
            masks,
            binary_segmentations.sliding_window,
            min_frames=self._min_embedded_frames(binary_segmentations),
        )
        if self.training:
            file["training_cache/pooled"] = {
                "threshold": self.segmentation.threshold,
                "embeddings": embeddings,
            }
        return embeddings

    def _min_embedded_frames(self, binary_segmentations: SlidingWindowFeature) -> float:
        num_frames: int = binary_segmentations.data.shape[1]
        window: float = binary_segmentations.sliding_window.duration
        return num_frames * MIN_EMBEDDED_SPEECH / window


def build_embedded_pipeline(device: str = "cpu") -> SpeakerDiarization:
    """A pyannote.audio SpeakerDiarization pipeline assembled from local parts, instantiated with tuned parameters."""
    torch_device = torch.device(device)
    logger.info("Loading embedded diarizer (segmentation %s, Resemblyzer embedding)", SEGMENTATION_CHECKPOINT)
    pipeline = EmbeddedSpeakerDiarization(load_segmentation(device), ResemblyzerEmbedding(torch_device))
    pipeline.instantiate(PARAMETERS)
    return pipeline.to(torch_device)
