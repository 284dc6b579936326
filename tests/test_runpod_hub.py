"""The RunPod Hub files: `.runpod/hub.json` and `.runpod/tests.json` hold RunPod's documented fields with values the
service accepts, and every request the Hub runs before listing a release succeeds here through `handler(job)`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.config import Settings, settings_table
from handler import ACTIONS, handler
from tests.corpus import wer

RUNPOD = Path(__file__).resolve().parents[1] / ".runpod"
HUB = json.loads((RUNPOD / "hub.json").read_text())
TESTS = json.loads((RUNPOD / "tests.json").read_text())
SETTINGS = set(re.findall(r"^\| `([A-Z_]+)` \|", settings_table(), re.M))
CudaVersion = Annotated[str, Field(pattern=r"^\d+\.\d+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Option(Strict):
    label: str
    value: str


class EnvInput(Strict):
    name: str
    type: Literal["string", "number", "boolean"]
    description: str
    default: str | float | bool | None = None
    options: list[Option] | None = None
    advanced: bool = False

    @model_validator(mode="after")
    def default_fits(self) -> EnvInput:
        kinds = {"string": str, "number": (int, float), "boolean": bool}
        assert self.default is None or isinstance(self.default, kinds[self.type]), "default of the wrong type"
        if self.options is not None and self.default is not None:
            assert self.default in [option.value for option in self.options], "default is not an option"
        return self


class EnvVar(Strict):
    key: str
    input: EnvInput | None = None
    value: str | None = None


class Preset(Strict):
    name: str
    defaults: dict[str, str | float | bool]


class HubConfig(Strict):
    runsOn: Literal["GPU", "CPU"]  # noqa: N815 (RunPod's spelling)
    containerDiskInGb: int = Field(gt=0)  # noqa: N815
    gpuCount: int = Field(ge=1)  # noqa: N815
    gpuIds: str  # noqa: N815
    allowedCudaVersions: list[CudaVersion] = Field(min_length=1)  # noqa: N815
    presets: list[Preset] = []
    env: list[EnvVar]


class Hub(Strict):
    title: str
    description: str
    type: Literal["serverless"]
    category: Literal["audio", "embedding", "language", "video", "image"]
    iconUrl: str | None = None  # noqa: N815
    config: HubConfig


class HubTest(Strict):
    name: str
    input: dict[str, Any]
    timeout: int = Field(gt=0, description="milliseconds")


class HubTestConfig(Strict):
    gpuTypeId: str  # noqa: N815
    gpuCount: int = Field(ge=1)  # noqa: N815
    env: list[EnvVar] = []
    allowedCudaVersions: list[CudaVersion]  # noqa: N815


class HubTests(Strict):
    tests: list[HubTest] = Field(min_length=1)
    config: HubTestConfig


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_hub_json_has_runpods_fields_and_offers_only_real_settings() -> None:
    hub = Hub.model_validate(HUB)
    keys = [env.key for env in hub.config.env]
    assert len(keys) == len(set(keys)) and set(keys) <= SETTINGS, set(keys) - SETTINGS
    assert {"WHISPER_MODEL", "HF_TOKEN", "DEVICE", "DATABASE_URL", "WEBHOOK__SECRET"} <= set(keys)
    for preset in hub.config.presets:
        assert set(preset.defaults) <= set(keys), preset.name
    # Every default and every option is a value the service accepts.
    choices = [
        {env.key: env.input.default} for env in hub.config.env if env.input and env.input.default is not None
    ]
    choices += [{env.key: o.value} for env in hub.config.env if env.input for o in env.input.options or []]
    for choice in choices + [preset.defaults for preset in hub.config.presets]:
        Settings(**{key.lower(): value for key, value in choice.items() if "__" not in key})
    # The worker image's CUDA runtime needs a host driver at least as new.
    image_cuda = re.search(
        r"^ARG BASE_IMAGE=nvidia/cuda:(\d+\.\d+)", (RUNPOD / "Dockerfile").read_text(), re.M
    )
    assert image_cuda and all(version(v) >= version(image_cuda[1]) for v in hub.config.allowedCudaVersions)


def test_the_hubs_audio_limit_is_the_one_the_worker_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {env.key for env in Hub.model_validate(HUB).config.env}
    # `LIMITS__` bounds the REST server; a worker reads `WORKER__` (`_worker_runtime`), so a Hub form offering
    # the server's limit would change nothing a worker does.
    assert not {key for key in keys if key.startswith("LIMITS__")}
    assert "WORKER__MAX_AUDIO_SECONDS" in keys
    monkeypatch.setenv("WORKER__MAX_AUDIO_SECONDS", "7200")
    assert Settings(_env_file=None).worker.max_audio_seconds == 7200  # type: ignore[call-arg]


def test_tests_json_has_runpods_fields_and_calls_real_actions() -> None:
    hub_tests = HubTests.model_validate(TESTS)
    assert len({test.name for test in hub_tests.tests}) == len(hub_tests.tests)
    assert all(test.input["action"] in ACTIONS for test in hub_tests.tests)
    assert set(hub_tests.config.allowedCudaVersions) <= set(HUB["config"]["allowedCudaVersions"])
    assert {env.key for env in hub_tests.config.env} <= SETTINGS


HUB_CLIP_TEXT = "Hello, this is a short test on the speech to text service."


def hub_request(name: str) -> dict[str, Any]:
    return next(test["input"] for test in TESTS["tests"] if test["name"] == name)


def assert_hub_outcome(name: str, response: dict[str, Any]) -> None:
    """What the Hub's test `name` must answer: no error, and for the sample clip its words and speakers."""
    assert "error" not in response, response
    if name == "speech_to_text":
        result = response["result"]
        # tiny.en misses a word of this 4 s clip, which one depending on where its chunk starts to 30 ms.
        heard = " ".join(segment["text"] for segment in result["segments"])
        assert wer(HUB_CLIP_TEXT, heard) <= 0.2, heard
        assert result["speakers"] and all(w.get("speaker") for s in result["segments"] for w in s["words"])
    if name == "health":
        assert response["result"]["database"]["reachable"] is True


@pytest.mark.slow
@pytest.mark.parametrize("name", [test["name"] for test in TESTS["tests"]])
def test_every_hub_request_succeeds_through_the_handler(service_env: Path, name: str) -> None:
    # The Hub lists a release only when every test job completes, so each request must succeed.
    assert_hub_outcome(name, handler({"id": f"hub-{name}", "input": hub_request(name)}))


def test_the_hub_sample_without_its_audio_is_refused_cleanly(service_env: Path) -> None:
    bad = {key: value for key, value in hub_request("speech_to_text").items() if key != "file"}
    response = handler({"id": "hub-bad", "input": {**bad, "diarize_params": {"min_speakers": "two"}}})
    assert json.loads(response["error"])["code"] == "invalid_input"
