def test_smoke(app, client):
    from conversion.accounts.operations import create_user
    from conftest import csrf_token
    create_user("c@x.org", "coordinator-pass-1", "coordinator")
    tok = csrf_token(client, "/login")
    client.post("/login", data={"email": "c@x.org", "password": "coordinator-pass-1", "csrf_token": tok})
    for path in ["/dashboard", "/review", "/requests", "/requests.csv", "/dashboard/throughput.svg", "/dashboard/time-in-state.svg", "/"]:
        r = client.get(path)
        assert r.status_code == 200, (path, r.get_data(as_text=True)[:3000])
    r = client.get("/requests/999")
    assert r.status_code == 404, r.status_code
    r = client.post("/requests/bulk", data={})
    assert r.status_code == 400 and "The form expired" in r.get_data(as_text=True)
