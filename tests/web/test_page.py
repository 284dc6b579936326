"""The transcript page at `/`, driven in Debian's headless Chromium against the real server."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from tests.corpus import SAMPLE_WAV, normalise
from tests.reliability.helpers import clip_wav
from tests.servers import ROOT, api_server

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_KEY = "page-key-5e1d7c9a2b4f"
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/install-system-packages.sh)"
)
FINISHED = "['completed', 'failed', 'cancelled'].includes(document.querySelector('#status').dataset.state)"
DECODED_WHILE_RUNNING = (
    "document.querySelector('#status').dataset.state === 'processing'"
    " && document.querySelector('#partial-text').textContent.includes('Jersey')"
)


@pytest.mark.slow
@pytest.mark.timeout(900)
@NEEDS_CHROMIUM
def test_page_transcribes_an_upload_and_seeks_to_a_clicked_word(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # Diarization runs after transcription, as its own stage: the decoded text is on show while it runs.
    with api_server(tmp_path, OVERLAP_DIARIZATION="false") as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            script_errors: list[str] = []
            page.on("pageerror", lambda error: script_errors.append(str(error)))

            page.goto(f"{base}/")
            assert page.title().startswith("Transcribe")
            page.set_input_files("#file", str(SAMPLE_WAV))
            # The API refuses inconsistent bounds; the page shows its message.
            page.fill("#min-speakers", "3")
            page.fill("#max-speakers", "2")
            page.click("#submit")
            page.wait_for_selector("#error:not([hidden])")
            assert "speakers" in page.inner_text("#error")

            page.fill("#min-speakers", "")
            page.click("#submit")
            page.wait_for_selector("#error", state="hidden")

            # The text appears as it is decoded, while speakers are still being found.
            page.wait_for_function(DECODED_WHILE_RUNNING, timeout=480_000, polling=100)
            page.wait_for_function(FINISHED, timeout=480_000, polling=1000)
            status = page.get_attribute("#status", "data-state")
            assert status == "completed", page.inner_text("#error")
            assert page.is_hidden("#partial")  # the result took its place
            identifier = unquote(page.evaluate("location.hash").removeprefix("#task="))

            # Two speakers, each with a label and a colour of its own.
            chips = page.locator("#speakers .chip")
            assert chips.count() == 2
            assert len(set(chips.all_inner_texts())) == 2
            colours = page.eval_on_selector_all(
                ".turn", "turns => [...new Set(turns.map(t => getComputedStyle(t).borderLeftColor))]"
            )
            assert len(colours) == 2
            assert "New Jersey" in page.inner_text("#transcript")

            jersey = page.locator(".word[data-start]", has_text=re.compile(r"^Jersey\W*$")).first
            start = float(jersey.get_attribute("data-start"))
            jersey.click()
            played = page.evaluate(
                """() => {
                    const player = document.querySelector('#player');
                    player.pause();
                    return {time: player.currentTime, current: document.querySelector('.word.current')?.textContent};
                }"""
            )
            assert abs(played["time"] - start) <= 0.3, (played, start)
            assert played["current"] and played["current"].startswith("Jersey"), played

            row = page.locator(f"#tasks li[data-id='{identifier}']")
            assert row.get_attribute("data-status") == "completed"
            assert row.locator(".badge").inner_text() == "completed"

            for fmt in ("srt", "vtt", "txt", "json"):
                href = page.get_attribute(f".downloads a[data-format='{fmt}']", "href")
                assert href == f"/task/{identifier}/result?format={fmt}"
            srt = httpx.get(base + f"/task/{identifier}/result?format=srt", timeout=10)
            assert srt.status_code == 200 and "-->" in srt.text

            page.screenshot(path=str(ARTIFACTS / "transcript-page.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(ARTIFACTS / "transcript-page-narrow.png"), full_page=True)
            assert not script_errors, script_errors
        finally:
            browser.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
@NEEDS_CHROMIUM
def test_page_asks_a_keyed_server_for_a_key_once_and_sends_it_everywhere(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(clip_wav())
    with (
        api_server(tmp_path / "data", API_KEYS=f'["{PAGE_KEY}"]') as base,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        try:
            page = browser.new_page(accept_downloads=True)
            script_errors: list[str] = []
            page.on("pageerror", lambda error: script_errors.append(str(error)))
            page.goto(f"{base}/")

            # The first refused call asks for a key; a wrong one is refused and asked for again.
            page.wait_for_selector("#key-dialog[open]")
            page.fill("#api-key", "not-the-key")
            page.click("#key-submit")
            page.wait_for_function("document.querySelector('#key-message').textContent.includes('refused')")
            assert page.is_visible("#key-dialog[open]")
            page.fill("#api-key", PAGE_KEY)
            page.click("#key-submit")
            page.wait_for_selector("#tasks-empty:not([hidden])")  # the task list loaded with the key
            assert not page.is_visible("#key-dialog[open]")
            assert page.evaluate("localStorage.getItem('whisperx.apiKey')") == PAGE_KEY

            page.set_input_files("#file", str(clip))
            page.click("#submit")
            page.wait_for_function(FINISHED, timeout=300_000, polling=1000)
            assert page.get_attribute("#status", "data-state") == "completed", page.inner_text("#error")
            assert "hello" in normalise(page.inner_text("#transcript"))
            assert page.get_attribute("#player", "src").startswith("blob:")

            # Downloads carry the key too: the browser saves what the keyed fetch returned.
            with page.expect_download() as saved:
                page.click(".downloads a[data-format='srt']")
            assert saved.value.suggested_filename == "clip.srt"
            assert "-->" in Path(saved.value.path()).read_text()

            # A reload keeps the key: nothing is asked, the task is listed.
            identifier = unquote(page.evaluate("location.hash").removeprefix("#task="))
            page.reload()
            page.wait_for_selector(f"#tasks li[data-id='{identifier}'][data-status='completed']")
            assert not page.is_visible("#key-dialog[open]")
            assert httpx.get(f"{base}/task/{identifier}", timeout=10).status_code == 401
            assert not script_errors, script_errors
        finally:
            browser.close()
