import pytest

from wagw_gateway import media_links

pytestmark = pytest.mark.unit
SECRET = "s" * 40


def test_a_link_is_valid_for_exactly_what_it_names():
    url, expires = media_links.link(SECRET, "u_a", "m_1", 60, now=1000)
    assert expires == 1060 and url.startswith("/api/v1/media/m_1?tenant=u_a&expires=1060&signature=")
    signature = url.rsplit("=", 1)[1]
    assert media_links.valid(SECRET, "u_a", "m_1", 1060, signature)
    assert not media_links.valid(SECRET, "u_b", "m_1", 1060, signature)  # another tenant
    assert not media_links.valid(SECRET, "u_a", "m_2", 1060, signature)  # another message
    assert not media_links.valid(SECRET, "u_a", "m_1", 9999, signature)  # a later expiry
    assert not media_links.valid("t" * 40, "u_a", "m_1", 1060, signature)  # another key
