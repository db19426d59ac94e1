"""The audience models are derived from the segments' meta: the files are current, and a meta that
names a destination wrongly stops with a message naming the segment."""

import pytest

from cdp.audience_models import OUT, render, write
from cdp.audiences import AudienceSpecError, audience_specs
from cdp.destinations import DESTINATIONS


def test_generated_audience_models_are_current():
    assert write(check=True) == [], "run python -m cdp.audience_models"


def test_every_destination_is_used_by_some_segment():
    from cdp.audience_models import segment_meta

    used = {s.destination for s in audience_specs(segment_meta())}
    assert used == set(DESTINATIONS)


def test_phone_audiences_use_the_sms_or_ads_channel():
    from cdp.audience_models import segment_meta

    specs = audience_specs(segment_meta())
    phones = [s for s in specs if s.address_type == "phone"]
    assert phones and all(s.channel in ("sms", "ads") for s in phones)
    assert {s.channel for s in specs if s.destination in ("yandex_audience", "vk_ads")} == {"ads"}


@pytest.mark.parametrize("entry, message", [
    ({"type": "mailchimp", "list": "x"}, "not a destination"),
    ({"type": "vk_ads", "list": "x", "identifier": "email"}, "takes"),
    ({"type": "unisender", "list": "x", "mode": "sometimes"}, "mode"),
    ({"type": "unisender"}, "needs a `list`"),
])
def test_a_wrong_meta_names_the_segment(entry, message):
    with pytest.raises(AudienceSpecError, match=message) as err:
        audience_specs({"seg_x": {"audience": {"destinations": [entry]}}})
    assert "seg_x" in str(err.value)


def test_a_platform_minimum_cannot_be_lowered_and_a_control_share_is_carried():
    spec, = audience_specs({"seg_x": {"audience": {"control_share": 0.2, "destinations": [
        {"type": "yandex_audience", "list": "x", "min_audience": 10}]}}})
    assert spec.min_audience == DESTINATIONS["yandex_audience"].min_audience
    assert "0.2" in render([spec])[f"{spec.model}.sql"]
    assert OUT.name == "activation"
