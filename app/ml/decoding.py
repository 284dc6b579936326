"""Batched Whisper decoding that keeps the decoder's own confidence figures and falls back in temperature.

whisperx's batched decoder keeps only the text and the average log-probability of each chunk, at one
temperature. Here every chunk also keeps its no-speech probability and compression ratio, and a chunk whose
decoding fails faster-whisper's thresholds (too repetitive, or too improbable while not silent) is decoded again
at the next of `temperatures`, by sampling, as faster-whisper's `generate_with_fallback` does.

When asked, each chunk's words are also aligned to its audio on the encoder output its decoding used
(`app.ml.whisper_aligner.align_decoded`), so Whisper's word timings cost no second encoder pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions, get_compression_ratio
from whisperx.asr import FasterWhisperPipeline, WhisperModel, find_numeral_symbol_tokens
from whisperx.audio import HOP_LENGTH, N_FRAMES, SAMPLE_RATE

from app.ml.chunking import Chunk
from app.ml.results import Caption, Decoding, Segment, TokenLogprob, Transcript

if TYPE_CHECKING:
    from app.ml.whisper_aligner import DecodedWords


@dataclass(frozen=True)
class Decoded:
    """One chunk's text with the decoder's figures for it."""

    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    tokens: tuple[int, ...] = ()
    words: DecodedWords | None = None
    token_logprobs: tuple[float, ...] | None = None

    def needs_fallback(self, options: TranscriptionOptions) -> bool:
        """faster-whisper's rule: retry when too repetitive or too improbable, unless the chunk is silence."""
        repetitive = (
            options.compression_ratio_threshold is not None
            and self.compression_ratio > options.compression_ratio_threshold
        )
        improbable = options.log_prob_threshold is not None and self.avg_logprob < options.log_prob_threshold
        silent = (
            options.no_speech_threshold is not None
            and self.no_speech_prob > options.no_speech_threshold
            and improbable
        )
        return (repetitive or improbable) and not silent

    def segment(self, start: float, end: float) -> Segment:
        """The chunk's segment: its text and times, the decoder's tokens of the text and its figures
        (`CONFIDENCE_FIELDS`)."""
        return Segment(
            text=self.text,
            start=start,
            end=end,
            tokens=list(self.tokens),
            avg_logprob=round(float(self.avg_logprob), 4),
            no_speech_prob=round(float(self.no_speech_prob), 4),
            compression_ratio=round(float(self.compression_ratio), 4),
            temperature=round(float(self.temperature), 4),
        )

    def logprobs(self, tokenizer: Tokenizer) -> list[TokenLogprob]:
        """Each text token with its log-probability: `{"token", "logprob", "bytes"}` (the token's UTF-8 bytes;
        a character split across tokens has its bytes split the same way)."""
        pieces = [token_bytes(tokenizer, token) for token in self.tokens]
        return [
            {"token": piece.decode(errors="replace"), "logprob": round(logprob, 6), "bytes": list(piece)}
            for piece, logprob in zip(pieces, self.token_logprobs or (), strict=True)
        ]


def token_bytes(tokenizer: Tokenizer, token: int) -> bytes:
    """A text token's own bytes (the byte-level BPE piece, before UTF-8 decoding joins it to its neighbours)."""
    piece = tokenizer.tokenizer.id_to_token(token)
    return bytes(_BYTE_OF_CHARACTER[character] for character in piece)


def _byte_of_character() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet, reversed: the printable character that stands for each byte."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    characters = dict(zip(printable, printable, strict=True))
    extra = 0
    for byte in range(256):
        if byte not in characters:
            characters[byte] = 256 + extra
            extra += 1
    return {chr(character): byte for byte, character in characters.items()}


_BYTE_OF_CHARACTER = _byte_of_character()


class ConfidentWhisperModel(WhisperModel):
    """whisperx's batched faster-whisper model, answering with confidence figures and temperature fallback."""

    def generate_segment_batched(
        self,
        features: np.ndarray,
        tokenizer: Tokenizer,
        options: TranscriptionOptions,
        encoder_output: Any = None,
        num_frames: list[int] | None = None,
        token_logprobs: bool = False,
    ) -> dict[str, list[Any]]:
        """Decode a batch of chunks; with `num_frames` (each chunk's frames of real audio) also align each
        chunk's words on the same encoder output; with `token_logprobs`, score each decoded text token."""
        initial = tokenizer.encode(" " + options.initial_prompt.strip()) if options.initial_prompt else []
        prompt = self.get_prompt(
            tokenizer,
            initial,
            without_timestamps=options.without_timestamps,
            prefix=options.prefix,
            hotwords=options.hotwords,
        )
        if features.ndim == 2:
            features = features[np.newaxis]
        chosen: list[Decoded | None] = [None] * len(features)
        tried: list[list[Decoded]] = [[] for _ in features]
        pending = list(range(len(features)))
        # Encoded once: every chunk at the first temperature, and the word alignment, share it.
        encoded = self.encode(features)
        for temperature in options.temperatures:
            retried = encoded if len(pending) == len(features) else self.encode(features[pending])
            decoded = self._decode(retried, len(pending), prompt, tokenizer, options, temperature)
            for index, result in zip(pending, decoded, strict=True):
                tried[index].append(result)
                if not result.needs_fallback(options):
                    chosen[index] = result
            pending = [index for index in pending if chosen[index] is None]
            if not pending:
                break
        for index in pending:
            # Every temperature failed: faster-whisper keeps the most probable decoding that is not repetitive.
            plain = [
                d
                for d in tried[index]
                if options.compression_ratio_threshold is None
                or d.compression_ratio <= options.compression_ratio_threshold
            ]
            chosen[index] = max(plain or tried[index], key=lambda d: d.avg_logprob)
        final = [result for result in chosen if result is not None]
        if num_frames is not None:
            from app.ml.whisper_aligner import align_decoded

            aligned = align_decoded(self, tokenizer, encoded, [result.text for result in final], num_frames)
            final = [replace(result, words=words) for result, words in zip(final, aligned, strict=True)]
        if token_logprobs:
            final = self._scored(encoded, tokenizer, final)
        return {
            "text": [result.text for result in final],
            "avg_logprob": [result.avg_logprob for result in final],
            "decoded": final,
        }

    def _scored(self, encoded: Any, tokenizer: Tokenizer, decoded: list[Decoded]) -> list[Decoded]:
        """Each chunk's text tokens with the log-probability the decoder gives each one after the tokens
        before it, on the chunk's own encoder output (CTranslate2's forced decoding, as faster-whisper scores
        words)."""
        if not any(result.tokens for result in decoded):
            return decoded
        # Every chunk of the batch takes part: one that decoded no text scores a placeholder, dropped.
        placeholder = next(list(result.tokens) for result in decoded if result.tokens)
        results = self.model.align(
            encoded,
            tokenizer.sot_sequence,
            [list(result.tokens) or placeholder for result in decoded],
            [N_FRAMES] * len(decoded),
        )
        return [
            replace(result, token_logprobs=tuple(math.log(max(p, 1e-12)) for p in scored.text_token_probs))
            if result.tokens
            else replace(result, token_logprobs=())
            for result, scored in zip(decoded, results, strict=True)
        ]

    def _decode(
        self,
        encoded: Any,
        count: int,
        prompt: list[int],
        tokenizer: Tokenizer,
        options: TranscriptionOptions,
        temperature: float,
    ) -> list[Decoded]:
        if temperature > 0:
            sampling = {
                "beam_size": 1,
                "num_hypotheses": options.best_of,
                "sampling_topk": 0,
                "sampling_temperature": temperature,
            }
        else:
            sampling = {"beam_size": options.beam_size, "patience": options.patience}
        results = self.model.generate(
            encoded,
            [prompt] * count,
            length_penalty=options.length_penalty,
            max_length=self.max_length,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            repetition_penalty=options.repetition_penalty,
            return_scores=True,
            return_no_speech_prob=True,
            **sampling,
        )
        decoded = []
        for result in results:
            tokens = result.sequences_ids[0]
            # CTranslate2 scores are length-normalised sums; faster-whisper recovers the mean the same way.
            avg_logprob = result.scores[0] * len(tokens) ** options.length_penalty / (len(tokens) + 1)
            text_tokens = tuple(token for token in tokens if token < tokenizer.eot)
            text = tokenizer.tokenizer.decode(list(text_tokens))
            decoded.append(
                Decoded(
                    text=text,
                    tokens=text_tokens,
                    avg_logprob=avg_logprob,
                    no_speech_prob=result.no_speech_prob,
                    compression_ratio=get_compression_ratio(text.strip()),
                    temperature=temperature,
                )
            )
        return decoded


OnChunk = Callable[[float, Caption], None]
"""Called as each chunk is decoded, in order: the fraction of the recording done and the chunk's segment."""
AlignsWords = Callable[[str], bool]
"""Asked once per batch with the transcription's language: should the decoder align the chunks' words?"""
FIRST_BATCH = 1
"""The first batch holds one chunk, so the first text is out one chunk's decoding after the speech is found;
the rest go `batch_size` at a time."""


def chunk_frames(chunk: Chunk) -> int:
    """The mel frames of a planned chunk's own audio (it is cut at these samples, then padded to 30 s)."""
    samples = int(chunk["end"] * SAMPLE_RATE) - int(chunk["start"] * SAMPLE_RATE)
    return min(samples // int(HOP_LENGTH), int(N_FRAMES))


class ConfidentPipeline(FasterWhisperPipeline):
    """whisperx's batched pipeline over chunks planned as the speech is found: its segments carry each chunk's
    decoder figures, and each chunk's segment goes to `on_chunk` as soon as it is decoded."""

    options: TranscriptionOptions

    @classmethod
    def from_pipeline(cls, pipeline: FasterWhisperPipeline) -> ConfidentPipeline:
        """The same pipeline (model, options and tokenizer as `whisperx.load_model` built them)."""
        return cls(
            model=pipeline.model,
            vad=pipeline.vad_model,
            vad_params=pipeline._vad_params,
            options=pipeline.options,
            tokenizer=pipeline.tokenizer,
            language=pipeline.preset_language,
            suppress_numerals=pipeline.suppress_numerals,
        )

    def transcribe(
        self,
        audio: np.ndarray,
        chunks: Iterable[Chunk],
        *,
        batch_size: int,
        language: str | None = None,
        task: str | None = None,
        on_chunk: OnChunk | None = None,
        aligns_words: AlignsWords | None = None,
        token_logprobs: bool = False,
    ) -> Decoding:
        """whisperx's `{"segments", "language"}` for the planned `chunks` of 16 kHz `audio`; with `aligns_words`
        (when it answers yes), also the `decoded_words`: each chunk's word alignment by the chunk's start, for
        `app.ml.whisper_aligner.align_with_whisper`; with `token_logprobs`, each segment's `logprobs`
        (`Decoded.logprobs`). A translation's words are not aligned: its text is not
        what was said."""
        if task == "translate":
            aligns_words = None
        language = language or self.preset_language or self.detect_language(audio)
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            self.model.model.is_multilingual,
            task=task or "transcribe",
            language=language,
        )
        if self.suppress_numerals:
            numerals = find_numeral_symbol_tokens(self.tokenizer)
            self.options = replace(
                self.options, suppress_tokens=sorted({*numerals, *self.options.suppress_tokens})
            )
        duration = len(audio) / SAMPLE_RATE
        segments: list[Segment] = []
        words: dict[float, DecodedWords] = {}
        planned = iter(chunks)
        size = FIRST_BATCH
        while batch := list(islice(planned, size)):
            size = batch_size
            decoded_batch = self._decode_batch(audio, batch, aligns_words, token_logprobs)
            for chunk, decoded in zip(batch, decoded_batch, strict=True):
                segment = decoded.segment(round(chunk["start"], 3), round(chunk["end"], 3))
                if token_logprobs:
                    segment["logprobs"] = decoded.logprobs(self.tokenizer)
                segments.append(segment)
                if decoded.words is not None:
                    words[segment["start"]] = decoded.words
                if on_chunk is not None:
                    caption = Caption(text=segment["text"], start=segment["start"], end=segment["end"])
                    on_chunk(min(1.0, chunk["end"] / duration), caption)
        transcript = Transcript(segments=segments, language=language)
        return Decoding(transcript, words if aligns_words is not None else None)

    def _decode_batch(
        self,
        audio: np.ndarray,
        chunks: list[Chunk],
        aligns_words: AlignsWords | None,
        token_logprobs: bool,
    ) -> list[Decoded]:
        features = torch.stack(
            [
                self.preprocess(
                    {"inputs": audio[int(chunk["start"] * SAMPLE_RATE) : int(chunk["end"] * SAMPLE_RATE)]}
                )["inputs"]
                for chunk in chunks
            ]
        )
        num_frames = None
        if aligns_words is not None and aligns_words(self.tokenizer.language_code):
            num_frames = [chunk_frames(chunk) for chunk in chunks]
        output = self.model.generate_segment_batched(
            features, self.tokenizer, self.options, num_frames=num_frames, token_logprobs=token_logprobs
        )
        decoded: list[Decoded] = output["decoded"]
        return decoded
