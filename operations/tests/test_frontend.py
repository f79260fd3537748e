"""The dashboard's single page, served at the root and for its client-side routes, and for nothing under
/api/; its service worker and web app manifest at the root."""

from pathlib import Path

from PIL import Image


def test_dashboard_page_is_served_at_the_root_and_for_client_routes(client, settings, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    settings.FRONTEND_DIST = tmp_path
    for path in ("/", "/tickets/42"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"<div id=root>" in response.content


def test_unbuilt_dashboard_says_how_to_build_it(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "missing"
    response = client.get("/")
    assert response.status_code == 503
    assert b"make frontend" in response.content


def test_api_paths_are_not_swallowed_by_the_dashboard(client, db):
    assert client.get("/api/nothing-here/").status_code == 404


def test_service_worker_is_served_at_the_root_and_never_cached(client, settings, tmp_path):
    (tmp_path / "sw.js").write_text("self.addEventListener('push', () => {});")
    settings.FRONTEND_DIST = tmp_path
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert b"addEventListener('push'" in response.content


def test_unbuilt_service_worker_is_not_found_rather_than_the_dashboard_page(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path
    response = client.get("/sw.js")
    assert response.status_code == 404
    assert b"make frontend" in response.content


def test_web_app_manifest_is_served_at_the_root_as_a_manifest_and_never_cached(client, settings, tmp_path):
    (tmp_path / "manifest.webmanifest").write_text('{"name": "MaintainX", "scope": "/"}')
    settings.FRONTEND_DIST = tmp_path
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    assert response["Cache-Control"] == "no-cache"
    assert response.json() == {"name": "MaintainX", "scope": "/"}


def test_unbuilt_manifest_is_not_found_rather_than_the_dashboard_page(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 404
    assert b"make frontend" in response.content


def test_the_built_manifest_makes_the_dashboard_installable(client, settings):
    """The manifest in frontend/public as it is shipped: what Chromium needs to offer installing it,
    with icons that exist at the sizes it says."""
    public = Path(settings.BASE_DIR) / "frontend" / "public"
    settings.FRONTEND_DIST = public
    manifest = client.get("/manifest.webmanifest").json()
    assert (manifest["display"], manifest["scope"], manifest["start_url"]) == ("standalone", "/", "/tickets")
    sizes = set()
    for icon in manifest["icons"]:
        with Image.open(public / icon["src"].removeprefix("/static/")) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"], icon["src"]
            sizes.add(image.width)
    assert {192, 512} <= sizes
