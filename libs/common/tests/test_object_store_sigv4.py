from datetime import datetime, timezone

import pytest

from wagw_common.object_store.sigv4 import Credentials, presign, sign_headers

pytestmark = pytest.mark.unit

# AWS's published example of a presigned GET (S3 documentation, "Authenticating Requests: Using Query
# Parameters"): its keys, time and expected signature.
_AWS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
_WHEN = datetime(2013, 5, 24, tzinfo=timezone.utc)


def test_a_presigned_url_matches_aws_published_example():
    url = presign(_AWS, "GET", "https://examplebucket.s3.amazonaws.com/test.txt", 86400, now=_WHEN)
    assert url.endswith("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    assert "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" in url


def test_a_signed_header_changes_the_signature():
    plain = presign(_AWS, "PUT", "http://127.0.0.1:9000/media/a", 60, now=_WHEN)
    typed = presign(_AWS, "PUT", "http://127.0.0.1:9000/media/a", 60, now=_WHEN,
                    signed_headers={"content-type": "image/png"})
    assert plain.split("X-Amz-Signature=")[1] != typed.split("X-Amz-Signature=")[1]
    assert "X-Amz-SignedHeaders=content-type%3Bhost" in typed


def test_header_auth_names_the_signed_headers_and_never_the_secret():
    headers = sign_headers(_AWS, "PUT", "http://127.0.0.1:9000/media/a", b"bytes", now=_WHEN)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/")
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date" in headers["Authorization"]
    assert _AWS.secret_key not in repr(_AWS) and _AWS.secret_key not in str(headers)
