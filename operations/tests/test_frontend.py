"""The dashboard's single page, served at the root and for its client-side routes, and for nothing under /api/."""


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
