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
