"""The call options as every job that transcribes takes them: as JSON values, or as the JSON text a form field
holds, and refused clearly when they do not fit together."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.schemas import SpeechToTextJob, TranscribeJob


@pytest.mark.parametrize("job", [SpeechToTextJob, TranscribeJob])
def test_each_option_may_come_as_json_text(job: type[SpeechToTextJob | TranscribeJob]) -> None:
    parsed = job.model_validate(
        {
            "multichannel": True,
            "channel_names": '["agent", "caller"]',
            "keyterms": '["Acme-Pro"]',
            "replacements": '{"acme pro": "Acme-Pro"}',
            "redact": '["card_number", "card_number", "email"]',
            "redact_audio": True,
        }
    )
    assert parsed.channel_names == ["agent", "caller"] and parsed.keyterms == ["Acme-Pro"]
    assert parsed.replacements == {"acme pro": "Acme-Pro"} and parsed.redact == ["card_number", "email"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel_names": ["agent"]}, "channel_names"),
        ({"redact_audio": True}, "redact_audio"),
        ({"redact": ["blood_type"]}, "redact"),
        ({"keyterms": [""]}, "keyterms"),
        ({"replacements": '["not", "an", "object"]'}, "replacements"),
    ],
)
def test_options_that_do_not_fit_are_refused(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        TranscribeJob.model_validate(fields)
