"""Product images resolve inside the images root only: no `..`, absolute path or symlink escape."""

import os

import pytest

from lookalike.errors import NotFound
from query.product_images import LocalImage, RemoteImage, resolve_image


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "catalog"
    (root / "images").mkdir(parents=True)
    (root / "images" / "p1.jpg").write_bytes(b"\xff\xd8jpeg")
    (root / "images" / "notes").write_bytes(b"no suffix")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    (root / "images" / "escape.jpg").symlink_to(secret)
    (root / "images" / "inside-link.jpg").symlink_to(root / "images" / "p1.jpg")
    return root, secret


def test_relative_reference_inside_root_is_served(tree):
    root, _ = tree
    got = resolve_image("images/p1.jpg", root)
    assert isinstance(got, LocalImage)
    assert got.path == (root / "images" / "p1.jpg").resolve()
    assert got.media_type == "image/jpeg"


def test_absolute_and_file_url_inside_root_are_served(tree):
    root, _ = tree
    inside = str((root / "images" / "p1.jpg").resolve())
    assert resolve_image(inside, root).path == (root / "images" / "p1.jpg").resolve()
    assert resolve_image("file://" + inside, root).path == (root / "images" / "p1.jpg").resolve()


def test_symlink_that_stays_inside_root_is_served(tree):
    root, _ = tree
    assert resolve_image("images/inside-link.jpg", root).path == (root / "images" / "p1.jpg").resolve()


def test_unknown_suffix_is_sent_as_octet_stream(tree):
    root, _ = tree
    assert resolve_image("images/notes", root).media_type == "application/octet-stream"


@pytest.mark.parametrize(
    "reference",
    [
        "../secret.txt",
        "images/../../secret.txt",
        "images/escape.jpg",  # symlink out of the root
        "%2e%2e/secret.txt",  # stored literally: no such file, and never decoded into `..`
        "/etc/passwd",
        "file:///etc/passwd",
        "images",  # a directory
        "images/missing.jpg",
        "",
        "images/p1.jpg\x00.png",
        "ftp://example.com/x.jpg",
    ],
)
def test_references_outside_root_or_missing_are_not_found(tree, reference):
    root, secret = tree
    with pytest.raises(NotFound) as err:
        resolve_image(reference, root)
    assert str(secret) not in str(err.value)


def test_absolute_path_to_the_secret_is_refused(tree):
    root, secret = tree
    with pytest.raises(NotFound):
        resolve_image(str(secret), root)
    with pytest.raises(NotFound):
        resolve_image("file://" + str(secret), root)


def test_symlinked_root_is_resolved_before_the_containment_check(tree, tmp_path):
    root, _ = tree
    link = tmp_path / "root-link"
    os.symlink(root, link)
    assert resolve_image("images/p1.jpg", link).path == (root / "images" / "p1.jpg").resolve()
    with pytest.raises(NotFound):
        resolve_image("../secret.txt", link)


def test_http_reference_is_remote(tree):
    root, _ = tree
    assert resolve_image("https://cdn.example.com/a.jpg", root) == RemoteImage("https://cdn.example.com/a.jpg")
