"""The transcript page at `/`, driven in Debian's headless Chromium against the real server."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from tests.corpus import SAMPLE_WAV
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
FINISHED = "['completed', 'failed', 'cancelled'].includes(document.querySelector('#status').dataset.state)"


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/install-system-packages.sh)"
)
def test_page_transcribes_an_upload_and_seeks_to_a_clicked_word(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with api_server(tmp_path) as base, sync_api.sync_playwright() as p:
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

            page.wait_for_function(FINISHED, timeout=480_000, polling=1000)
            status = page.get_attribute("#status", "data-state")
            assert status == "completed", page.inner_text("#error")
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
