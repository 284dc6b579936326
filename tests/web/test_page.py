"""The transcript page at `/`, driven in Debian's headless Chromium against the real server."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from tests.corpus import SAMPLE_WAV, caller_share, first_caller_clips, normalise
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


@pytest.mark.slow
@pytest.mark.timeout(900)
@NEEDS_CHROMIUM
def test_page_enrolls_voices_and_names_them_in_a_transcript(tmp_path: Path) -> None:
    clips, _ = first_caller_clips()  # the sample's first caller, alone
    clip_files = [tmp_path / f"caller-{i}.wav" for i in range(len(clips))]
    for path, clip in zip(clip_files, clips, strict=True):
        path.write_bytes(clip)
    ARTIFACTS.mkdir(exist_ok=True)
    with api_server(tmp_path / "data") as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            script_errors: list[str] = []
            page.on("pageerror", lambda error: script_errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and script_errors.append(message.text))
            page.goto(f"{base}/")
            page.wait_for_selector("#voices-empty:not([hidden])")
            assert page.is_hidden("#known-field")  # nothing to pick yet

            # Enrolling needs clips; the page says so without asking the server.
            page.fill("#voice-name", "Caller")
            page.click("#enroll-submit")
            assert "clips" in page.inner_text("#voices-error")

            page.fill("#voice-description", "Support lead")
            page.set_input_files("#voice-files", [str(path) for path in clip_files])
            page.click("#enroll-submit")
            caller = page.locator("#voices .voice", has_text="Caller")
            caller.wait_for(timeout=300_000)
            assert page.is_hidden("#voices-error")
            meta = caller.locator(".voice-meta").inner_text()
            assert "Support lead" in meta and "2 clips" in meta, meta
            assert page.input_value("#voice-name") == ""  # the form is ready for the next voice

            # Renamed in place.
            caller.get_by_role("button", name="Rename Caller").click()
            caller.get_by_role("textbox", name="Name", exact=True).fill("Dana")
            caller.get_by_role("button", name="Save").click()
            dana = page.locator("#voices .voice", has_text="Dana")
            dana.wait_for()
            assert page.locator("#voices .voice").count() == 1

            # Picked as a known speaker of the next run, which names her in the transcript.
            page.get_by_role("checkbox", name="Dana").check()
            page.set_input_files("#file", str(SAMPLE_WAV))
            page.click("#submit")
            page.wait_for_function(FINISHED, timeout=480_000, polling=1000)
            assert page.get_attribute("#status", "data-state") == "completed", page.inner_text("#error")
            identifier = unquote(page.evaluate("location.hash").removeprefix("#task="))
            task = httpx.get(f"{base}/task/{identifier}", timeout=10).json()
            segments = task["result"]["segments"]
            assert caller_share(segments, "Dana", "speaker90") >= 0.8, segments
            chips = page.locator("#speakers .chip")
            assert sorted(chips.all_inner_texts()) == ["Dana", "Speaker 1"], chips.all_inner_texts()
            assert page.locator(".turn .chip", has_text="Dana").count() > 0

            # The other caller, named from the transcript: enrolled, and relabelled where it is shown.
            (label,) = {segment["speaker"] for segment in segments} - {"Dana"}
            namer = page.get_by_role("button", name=re.compile("^Name this speaker"))
            assert namer.count() == 1  # Dana is named already
            namer.click()
            page.locator(".name-speaker input").fill("Remy")
            page.locator(".name-speaker").get_by_role("button", name="Enroll").click()
            remy = page.locator("#voices .voice", has_text="Remy")
            remy.wait_for(timeout=60_000)
            assert "from a transcript" in remy.locator(".voice-meta").inner_text()
            assert sorted(chips.all_inner_texts()) == ["Dana", "Remy"]
            assert page.locator(f".turn .chip[data-speaker='{label}']").first.inner_text() == "Remy"
            assert page.get_by_role("checkbox", name="Dana").is_checked()  # the choice outlived the reload
            assert page.get_by_role("checkbox", name="Remy").count() == 1

            # Identifying every enrolled voice sets the ticked ones aside.
            page.check("#identify-speakers")
            assert page.get_by_role("checkbox", name="Dana").is_disabled()

            # Deleted after a confirmation; kept when the confirmation is declined.
            dana.get_by_role("button", name="Delete Dana").click()
            dana.get_by_role("button", name="Keep").click()
            assert dana.get_by_role("button", name="Delete Dana").is_visible()
            dana.get_by_role("button", name="Delete Dana").click()
            dana.get_by_role("button", name="Yes, delete").click()
            dana.wait_for(state="detached")
            assert page.locator("#voices .voice").all_inner_texts()[0].startswith("Remy")
            assert page.get_by_role("checkbox", name="Dana").count() == 0
            voices = httpx.get(f"{base}/voices", timeout=10).json()
            assert [voice["name"] for voice in voices] == ["Remy"]

            page.screenshot(path=str(ARTIFACTS / "voices-page.png"), full_page=True)
            assert not script_errors, script_errors
        finally:
            browser.close()
