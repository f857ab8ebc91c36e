import pytest

from wagw_common.errors import DomainError
from wagw_webhook_dispatcher.url_guard import private_destination, refuse_private_destination

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("url", [
    "http://localhost:8080/hook", "http://LOCALHOST./hook", "http://api.localhost/hook",
    "http://127.0.0.1/hook", "http://127.8.9.10:9000/", "http://[::1]/hook", "http://0.0.0.0/",
    "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.10/", "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
])
def test_private_destinations_are_refused(url):
    assert private_destination(url) is not None
    with pytest.raises(DomainError) as caught:
        refuse_private_destination(url, allow_private_networks=False)
    assert caught.value.code == "invalid"
    assert "url" in caught.value.details


@pytest.mark.parametrize("url", [
    "https://example.com/hooks", "http://93.184.216.34/hook", "https://[2606:4700::1111]/",
    "https://hooks.localhost.example.com/",
])
def test_public_destinations_pass(url):
    assert private_destination(url) is None
    refuse_private_destination(url, allow_private_networks=False)


def test_private_destinations_pass_when_allowed():
    refuse_private_destination("http://127.0.0.1:9000/hook", allow_private_networks=True)
