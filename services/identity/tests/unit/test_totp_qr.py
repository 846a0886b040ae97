"""The TOTP QR code as an `<img src>`: a browser draws an SVG image only when it declares the
SVG namespace (inline SVG in HTML does not need it, a standalone image does)."""

import base64
import xml.etree.ElementTree as ET

import pytest

from tessera_identity.domain.totp import qr_svg_data_uri

pytestmark = pytest.mark.unit

PREFIX = "data:image/svg+xml;base64,"


def test_the_qr_code_is_a_standalone_svg_document_a_browser_can_show_as_an_image() -> None:
    uri = qr_svg_data_uri("otpauth://totp/Tessera:jane%40example.com?secret=JBSWY3DPEHPK3PXP")

    assert uri.startswith(PREFIX)
    root = ET.fromstring(base64.b64decode(uri.removeprefix(PREFIX)))  # noqa: S314 - our own
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(root.attrib["width"]) == int(root.attrib["height"]) > 100
