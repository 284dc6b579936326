"""The page's Live panel, driven in Debian's headless Chromium: a fake microphone plays a spoken WAV file, the page
streams it to `/v1/realtime` and shows the captions, and the finished transcript downloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from tests.corpus import normalise
from tests.servers import api_server
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE, dialogue
from tests.web.test_page import ARTIFACTS, BROWSER_ARGS, CHROMIUM, NEEDS_CHROMIUM, PAGE_KEY

sync_api = pytest.importorskip("playwright.sync_api")

CAPTURE_RATE = 48_000  # Chromium's fake capture device reads 16-bit PCM WAV files; 48 kHz is its own rate
SPOKEN = TWO_VOICE_DIALOGUE[:2]
DONE_CAPTIONS = "document.querySelectorAll('#live-captions li.caption.done').length"
# Every text a caption showed while its turn was still being heard.
WATCH_PENDING = """
addEventListener("DOMContentLoaded", () => {
  window.pendingTexts = [];
  new MutationObserver(() => {
    for (const line of document.querySelectorAll("#live-captions li.caption.pending")) {
      if (line.textContent.trim()) window.pendingTexts.push(line.textContent);
    }
  }).observe(document.querySelector("#live-captions"), {subtree: true, childList: true, characterData: true});
});
"""


def microphone_wav(path: Path) -> Path:
    """Two turns of speech with silence after them, as the fake microphone plays it."""
    audio, _ = dialogue(SPOKEN)
    audio = np.concatenate([audio, np.zeros(2 * SAMPLE_RATE, dtype=np.float32)])
    sf.write(
        path, np.clip(soxr.resample(audio, SAMPLE_RATE, CAPTURE_RATE), -1, 1), CAPTURE_RATE, subtype="PCM_16"
    )
    return path


@pytest.mark.slow
@pytest.mark.timeout(300)
@NEEDS_CHROMIUM
def test_live_panel_captions_the_microphone_and_downloads_the_transcript(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wav = microphone_wav(tmp_path / "microphone.wav")
    args = [
        *BROWSER_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with (
        api_server(tmp_path / "data", API_KEYS=json.dumps([PAGE_KEY]), PRELOAD_MODELS="true") as base,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
            # The key is kept already: the socket carries it as a subprotocol.
            context.add_init_script(f"localStorage.setItem('whisperx.apiKey', {json.dumps(PAGE_KEY)})")
            context.add_init_script(WATCH_PENDING)
            page = context.new_page()
            script_errors: list[str] = []
            page.on("pageerror", lambda error: script_errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and script_errors.append(message.text))
            page.goto(f"{base}/")
            page.select_option("#language", "en")

            page.get_by_role("button", name="Start").click()
            page.wait_for_selector("#live-state[data-state='listening']", timeout=60_000)
            assert page.is_enabled("#live-stop") and page.is_disabled("#live-start")

            # Each turn: its text while it is heard, then its finished transcript in its place, in order.
            page.wait_for_function(f"{DONE_CAPTIONS} >= {len(SPOKEN)}", timeout=120_000, polling=100)
            finished = page.locator("#live-captions li.caption.done").all_inner_texts()
            for (_, said), shown in zip(SPOKEN, finished, strict=False):
                expected = set(normalise(said).split())
                heard = set(normalise(shown).split())
                assert len(expected & heard) >= 0.6 * len(expected), (said, shown)
            assert "morning" in normalise(finished[0]) and "address" in normalise(finished[1]), finished
            assert page.evaluate("window.pendingTexts.length") > 0  # text came before each turn was over

            page.get_by_role("button", name="Stop").click()
            page.wait_for_selector("#live-state[data-state='idle']", timeout=20_000)
            assert page.is_enabled("#live-start")
            assert "Stopped" in page.inner_text("#live-status")

            with page.expect_download() as saved:
                page.get_by_role("link", name="Download transcript (TXT)").click()
            assert saved.value.suggested_filename == "live-transcript.txt"
            text = Path(saved.value.path()).read_text()
            assert text.splitlines()[: len(finished)] == finished
            assert page.is_hidden("#live-error"), page.inner_text("#live-error")

            # Stopped mid-turn: the turn being spoken is committed and its text kept.
            page.get_by_role("button", name="Start").click()
            assert page.locator("#live-captions li").count() == 0  # a new session starts afresh
            page.wait_for_function(
                "[...document.querySelectorAll('#live-captions li.caption.pending')]"
                ".some(line => /morning/i.test(line.textContent))",
                timeout=60_000,
                polling=50,
            )
            page.get_by_role("button", name="Stop").click()
            page.wait_for_selector("#live-state[data-state='idle']", timeout=20_000)
            kept = page.locator("#live-captions li.caption.done").all_inner_texts()
            assert kept and "morning" in normalise(kept[0]), kept
            assert page.locator("#live-captions li.caption.pending").count() == 0

            page.screenshot(path=str(ARTIFACTS / "live-page.png"), full_page=True)
            assert not script_errors, script_errors
        finally:
            browser.close()
