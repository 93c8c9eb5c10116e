"""Product images are served from the catalog folder (or a configured root) and from nowhere else."""

from __future__ import annotations

import pytest

import api_catalog

pytestmark = pytest.mark.integration


cat, api = api_catalog.hand_made_fixtures("images")


def test_a_product_image_is_served_with_its_type(api, cat):
    r = api.get("/images/a1")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.content == (cat.folder / "images" / "a1.png").read_bytes()


@pytest.mark.parametrize("product_id", sorted(api_catalog.HOSTILE))
def test_hostile_image_references_serve_nothing_outside_the_catalog(api, cat, product_id):
    r = api.get(f"/images/{product_id}")
    assert r.status_code == 404, r.text
    assert r.json()["status"] == 404
    assert api_catalog.SECRET not in r.text and "root:" not in r.text
    assert str(cat.secret) not in r.text


def test_a_web_image_is_a_redirect_not_a_proxy(api):
    r = api.get("/images/x-remote", follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == api_catalog.REMOTE["x-remote"]


@pytest.mark.parametrize(
    "path",
    [
        "/images/..%2fsecret.txt",
        "/images/%2e%2e/%2e%2e/etc/passwd",
        "/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/images/../../etc/passwd",
        "/images//etc/passwd",
        "/static/..%2fapi.py",
        "/static/%2e%2e/api.py",
        "/static/../../etc/passwd",
    ],
)
def test_traversal_in_the_url_itself_is_404(api, path):
    r = api.get(path)
    assert r.status_code == 404, r.text
    assert api_catalog.SECRET not in r.text and "root:" not in r.text and "create_app" not in r.text


def test_a_configured_images_root_replaces_the_catalog_folder(cat, tmp_path):
    other = tmp_path / "other-root"
    (other / "images").mkdir(parents=True)
    (other / "images" / "a1.png").write_bytes(b"\x89PNG other root")
    with api_catalog.http(cat.settings, images_root=other) as client:
        r = client.get("/images/a1")
        assert r.status_code == 200 and r.content == b"\x89PNG other root"
        assert client.get("/images/a2").status_code == 404  # not under the configured root
        assert client.get("/images/x-dotdot").status_code == 404
