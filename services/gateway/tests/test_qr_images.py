import pytest
from marshmallow import ValidationError

from wagw_gateway.qr_images import QrQuery, render_qr

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind, magic, content_type", [("png", b"\x89PNG\r\n", "image/png"),
                                                        ("svg", b"<svg", "image/svg+xml")])
def test_a_qr_value_renders_as_an_image(kind, magic, content_type):
    image, produced = render_qr("2@AbCdEf==,xyz==,abc==,1", kind)
    assert image.startswith(magic) and produced == content_type


def test_the_format_defaults_to_raw_and_is_checked():
    assert QrQuery().load({}) == {"format": "raw"}
    with pytest.raises(ValidationError):
        QrQuery().load({"format": "gif"})
