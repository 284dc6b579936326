"""The page's call options and its Vocabularies panel, driven in Debian's headless Chromium against the real server:
vocabularies saved, edited and deleted in the panel and offered to the next run; a stereo call transcribed with a
vocabulary, a replacement, redaction and one speaker per channel, each option sent as the form field the routes
read (docs/call-recordings.md) and held by the job."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.servers import api_server
from tests.synth import SAMPLE_RATE, speak
from tests.web.test_page import ARTIFACTS, BROWSER_ARGS, CHROMIUM, FINISHED, NEEDS_CHROMIUM

sync_api = pytest.importorskip("playwright.sync_api")

# Voice A on the left channel, voice B on the right. tiny.en hears "me pro" for the product without the keyterm
# (tests/test_text_rules.py); the card number comes out with separators, as a card or an account number.
AGENT = "Thanks for calling. My card number is 4111 1111 1111 1111. I would like the acme pro plan, please."
CALLER = "Hello, I would like to change the address on my account."
NUMBER = ("[CARD_NUMBER]", "[ACCOUNT_NUMBER]")
ORIGINALS = ("4111", "4,111", "111,111")


def is_upload(request: Any) -> bool:
    return request.method == "POST" and urlparse(request.url).path == "/speech-to-text"


def stereo_call(path: Path) -> Path:
    """The agent, then the caller, each alone on a channel of their own."""
    agent, caller = speak(AGENT, "A"), speak(CALLER, "B")
    gap = np.zeros(int(0.6 * SAMPLE_RATE), dtype=np.float32)
    left = np.concatenate([gap, agent, gap, np.zeros_like(caller), gap])
    right = np.concatenate([gap, np.zeros_like(agent), gap, caller, gap])
    sf.write(path, np.stack([left, right], axis=1), SAMPLE_RATE, subtype="PCM_16")
    return path


def silent_stereo(path: Path) -> Path:
    sf.write(path, np.zeros((SAMPLE_RATE, 2), dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path


def form_fields(request: Any) -> dict[str, str]:
    """The text fields of a multipart request the page sent (the uploaded file left out)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parse(io.BytesIO(head + request.post_data_buffer))
    return {
        str(part.get_param("name", header="content-disposition")): part.get_content()
        for part in message.iter_parts()
        if part.get_filename() is None
    }


def task_params(base: str, identifier: str) -> dict[str, Any]:
    task = httpx.get(f"{base}/task/{identifier}", timeout=10).json()
    return task["metadata"]["task_params"]  # type: ignore[no-any-return]


def open_page(browser: Any, base: str, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda error: errors.append(str(error)))

    # A refusal the page shows (409, 422) is logged by Chromium as a failed load: not a script error.
    def logged(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", logged)
    page.goto(f"{base}/")
    page.wait_for_selector("#vocabularies-empty:not([hidden])")
    return page


@contextmanager
def served_page(data: Path) -> Iterator[tuple[str, Any, list[str]]]:
    """The server on `data`, and the page opened on it in headless Chromium: its address, the page, and the script
    errors the page logs."""
    with api_server(data) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
        try:
            errors: list[str] = []
            yield base, open_page(browser, base, errors), errors
        finally:
            browser.close()


def offered(page: Any) -> list[str]:
    return page.eval_on_selector_all("#vocabulary option", "options => options.map(o => o.value)")  # type: ignore[no-any-return]


def save_vocabulary(page: Any, name: str, keyterms: str, replacements: str) -> Any:
    page.fill("#vocabulary-name", name)
    page.fill("#vocabulary-keyterms", keyterms)
    page.fill("#vocabulary-replacements", replacements)
    page.click("#vocabulary-submit")
    item = page.locator("#vocabularies .vocabulary", has_text=name)
    item.wait_for(timeout=30_000)
    return item


@pytest.mark.slow
@pytest.mark.timeout(300)
@NEEDS_CHROMIUM
def test_page_saves_edits_and_deletes_vocabularies_and_offers_them(tmp_path: Path) -> None:
    clip = silent_stereo(tmp_path / "call.wav")
    with served_page(tmp_path / "data") as (base, page, errors):
        assert offered(page) == [""]

        # What cannot be saved is said without asking the server.
        page.fill("#vocabulary-name", "Support")
        page.click("#vocabulary-submit")
        assert "keyterms or replacements" in page.inner_text("#vocabularies-error")
        page.fill("#vocabulary-replacements", "acme pro")
        page.click("#vocabulary-submit")
        assert "=>" in page.inner_text("#vocabularies-error")

        # Saved: listed, counted, and offered in the upload form's select; the form is ready for the next one.
        support = save_vocabulary(
            page, "Support", "Acme Pro\nZylofax\n\nZylofax", "acme pro => Acme-Pro\n zylo fax=>Zylofax "
        )
        assert page.is_hidden("#vocabularies-error")
        meta = support.locator(".voice-meta").inner_text()
        assert "2 keyterms · 2 replacements" in meta, meta
        assert page.input_value("#vocabulary-name") == ""
        (saved,) = httpx.get(f"{base}/vocabularies", timeout=10).json()
        assert saved["keyterms"] == ["Acme Pro", "Zylofax"]
        assert saved["replacements"] == {"acme pro": "Acme-Pro", "zylo fax": "Zylofax"}
        assert offered(page) == ["", "Support"]
        page.click("#call-options summary")
        page.get_by_label("Vocabulary", exact=True).select_option("Support")

        # A name already saved is refused by the server, and its message shown.
        page.fill("#vocabulary-name", "Support")
        page.fill("#vocabulary-keyterms", "Other")
        page.click("#vocabulary-submit")
        page.wait_for_selector("#vocabularies-error:not([hidden])")
        assert "already saved" in page.inner_text("#vocabularies-error")
        assert page.locator("#vocabularies .vocabulary").count() == 1

        # Edited in place: its terms replaced; the select keeps the choice. Cancel puts back what is saved.
        support.get_by_role("button", name="Edit Support").click()
        support.get_by_role("textbox", name="Keyterms").fill("Scratch")
        support.get_by_role("button", name="Cancel").click()
        support.get_by_role("button", name="Edit Support").click()
        assert support.get_by_role("textbox", name="Keyterms").input_value() == "Acme Pro\nZylofax"
        assert support.get_by_role("textbox", name="Replacements").input_value() == (
            "acme pro => Acme-Pro\nzylo fax => Zylofax"
        )
        support.get_by_role("textbox", name="Keyterms").fill("Acme Pro\nQuorvendal")
        support.get_by_role("textbox", name="Replacements").fill("acme pro => Acme-Pro")
        support.get_by_role("button", name="Save").click()
        page.wait_for_function(
            "document.querySelector('#vocabularies .vocabulary .voice-meta').textContent.includes('Quorvendal')"
        )
        assert "2 keyterms · 1 replacement ·" in support.locator(".voice-meta").inner_text()
        assert page.is_hidden("#vocabularies-error")
        (saved,) = httpx.get(f"{base}/vocabularies", timeout=10).json()
        assert saved["keyterms"] == ["Acme Pro", "Quorvendal"] and saved["replacements"] == {
            "acme pro": "Acme-Pro"
        }
        assert page.input_value("#vocabulary") == "Support"
        save_vocabulary(page, "Billing", "", "invoice => Invoice")
        assert offered(page) == ["", "Billing", "Support"]
        assert page.input_value("#vocabulary") == "Support"

        # Every option set is sent as the form field the route reads, as JSON text; nothing else is.
        assert page.is_disabled("#diarize-channels")
        page.check("#multichannel")
        page.check("#diarize-channels")
        page.fill("#channel-names", " agent, caller ,")
        page.fill("#keyterms", "Zylofax\n\n")
        page.fill("#replacements", "acme pro => ACME")
        page.get_by_role("checkbox", name="Emails").check()
        page.get_by_role("checkbox", name="Spoken digits").check()
        assert page.inner_text("#call-options-count") == "5 set"
        page.set_input_files("#file", str(clip))
        page.route(
            "**/speech-to-text",
            lambda route: route.fulfill(
                status=422, json={"error": {"code": "invalid_input", "message": "Refused by the test."}}
            ),
        )
        with page.expect_request(is_upload) as sent:
            page.click("#submit")
        assert form_fields(sent.value) == {
            "multichannel": "true",
            "channel_names": '["agent","caller"]',
            "diarize_channels": "true",
            "keyterms": '["Zylofax"]',
            "replacements": '{"acme pro":"ACME"}',
            "vocabulary": "Support",
            "redact": '["email","spoken_digits"]',
        }
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error") == "Refused by the test."

        # A replacement line without its arrow stops the upload before anything is sent.
        page.fill("#replacements", "acme pro ACME")
        page.click("#submit")
        assert "=>" in page.inner_text("#error")

        # Deleted after a confirmation; the select falls back to none.
        support.get_by_role("button", name="Delete Support").click()
        support.get_by_role("button", name="Keep").click()
        support.get_by_role("button", name="Delete Support").click()
        support.get_by_role("button", name="Yes, delete").click()
        support.wait_for(state="detached")
        assert offered(page) == ["", "Billing"] and page.input_value("#vocabulary") == ""
        assert [v["name"] for v in httpx.get(f"{base}/vocabularies", timeout=10).json()] == ["Billing"]
        assert not errors, errors


@pytest.mark.slow
@pytest.mark.timeout(900)
@NEEDS_CHROMIUM
def test_page_transcribes_a_call_with_a_vocabulary_replacements_and_redaction(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    call = stereo_call(tmp_path / "call.wav")
    with served_page(tmp_path / "data") as (base, page, errors):
        save_vocabulary(page, "Acme", "Acme Pro", "acme pro => Acme-Pro")

        page.set_input_files("#file", str(call))
        page.click("#call-options summary")
        page.get_by_role("checkbox", name="One speaker per channel").check()
        page.get_by_label("Vocabulary", exact=True).select_option("Acme")
        page.fill("#replacements", "address => Adresse")
        page.get_by_role("checkbox", name="Card numbers").check()
        page.get_by_role("checkbox", name="Account numbers").check()
        page.get_by_role("checkbox", name="Keep the audio with them bleeped").check()
        # An intercepted request keeps its body, the upload included (Chromium reports none for a large one).
        sent: list[dict[str, str]] = []

        def forward(route: Any) -> None:
            sent.append(form_fields(route.request))
            route.continue_()

        page.route("**/speech-to-text", forward)
        page.click("#submit")
        page.wait_for_function("location.hash.startsWith('#task=')")
        (fields,) = sent
        sent_keys = ("multichannel", "vocabulary", "replacements", "redact", "redact_audio")
        assert {key: fields.get(key) for key in sent_keys} == {
            "multichannel": "true",
            "vocabulary": "Acme",
            "replacements": '{"address":"Adresse"}',
            "redact": '["card_number","account_number"]',
            "redact_audio": "true",
        }
        assert "keyterms" not in fields and "channel_names" not in fields  # not set, not sent

        page.wait_for_function(FINISHED, timeout=600_000, polling=1000)
        assert page.get_attribute("#status", "data-state") == "completed", page.inner_text("#error")
        identifier = unquote(page.evaluate("location.hash").removeprefix("#task="))
        params = task_params(base, identifier)
        assert params["multichannel"] is True and params["vocabulary"] == "Acme"
        assert params["replacements"] == {"address": "Adresse"}
        assert params["redact"] == ["card_number", "account_number"]

        # One speaker per channel, shown like any speaker; the vocabulary's spelling, the form's replacement
        # and the redaction are in the transcript, the card number is not.
        chips = page.locator("#speakers .chip")
        assert chips.all_inner_texts() == ["channel_0", "channel_1"], chips.all_inner_texts()
        turns = page.locator(".turn")
        assert turns.first.locator(".chip").inner_text() == "channel_0"
        assert turns.last.locator(".chip").inner_text() == "channel_1"
        shown = page.inner_text("#transcript")
        assert "Acme-Pro" in shown and "Adresse" in shown, shown
        assert any(kind in shown for kind in NUMBER), shown
        assert not [original for original in ORIGINALS if original in shown], shown
        # The audio with the redacted words bleeped downloads from the result.
        with page.expect_download() as saved:
            page.click("#redacted-audio")
        assert saved.value.suggested_filename == "call.redacted.flac"
        assert Path(saved.value.path()).read_bytes()[:4] == b"fLaC"
        page.screenshot(path=str(ARTIFACTS / "call-options-page.png"), full_page=True)
        assert not errors, errors


@pytest.mark.slow
@pytest.mark.timeout(300)
@NEEDS_CHROMIUM
def test_channel_names_from_the_page_reach_the_job(tmp_path: Path) -> None:
    clip = silent_stereo(tmp_path / "call.wav")
    with served_page(tmp_path / "data") as (base, page, errors):
        page.set_input_files("#file", str(clip))
        page.click("#call-options summary")
        page.check("#multichannel")
        page.fill("#channel-names", "agent, caller")
        page.click("#submit")
        page.wait_for_function(
            "location.hash.startsWith('#task=') || !document.querySelector('#error').hidden"
        )
        assert page.is_hidden("#error"), page.inner_text("#error")
        identifier = unquote(page.evaluate("location.hash").removeprefix("#task="))
        params = task_params(base, identifier)
        assert params["multichannel"] is True and params["channel_names"] == ["agent", "caller"]
