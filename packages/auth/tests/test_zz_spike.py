from __future__ import annotations
import typing as t, time

def test_spike(app, users, login, client, csrf, db) -> None:
    for nxt in ["/%09/evil.com", "/\t/evil.com", "http:evil.com", " /x", "/%5Cevil.com", "/%2F/evil.com"]:
        c = app.test_client()
        r = login(c, "ann", "ann-correct-horse-battery", next=nxt)
        print(db.kind, repr(nxt), r.status_code, r.headers.get("Location"))
    c = app.test_client()
    try:
        r = login(c, "a\x00b", "whatever-password")
        print("NUL", db.kind, r.status_code)
    except Exception as e:
        print("NUL exc", db.kind, type(e), e)
    c = app.test_client()
    t0 = time.perf_counter()
    r = c.post("/auth/login", data={"csrf_token": csrf(c), "username": "ann", "password": "x" * 1_000_000})
    print("1MB", r.status_code, time.perf_counter() - t0)
    r = c.get("/private")
    print("noaccept", r.status_code, r.headers.get("Location"))
    r = c.get("/private?x=1", headers={"Accept": "text/html"})
    print("html", r.status_code, r.headers.get("Location"))
    assert 0
