"""ctx.transaction commits effects with the ack; ctx.once records effect keys with the ack."""

from __future__ import annotations

from typing import Any

from sluice import App, Context


def _effects(app: App) -> list[int]:
    with app.store.begin() as conn:
        rows = conn.execute("SELECT n FROM effects ORDER BY n").fetchall()
    return [row[0] for row in rows]


def _make(url: str) -> App:
    app = App(url)
    app.queue("jobs", max_receives=5)
    with app.store.begin() as conn:
        conn.execute("DROP TABLE IF EXISTS effects")
        conn.execute("CREATE TABLE effects (n INTEGER NOT NULL)")
    return app


def _insert(conn: Any, n: int) -> None:
    mark = "?" if type(conn).__module__ == "sqlite3" else "%s"
    conn.execute(f"INSERT INTO effects (n) VALUES ({mark})", (n,))


def test_writes_through_ctx_transaction_commit_with_the_ack(url: str) -> None:
    app = _make(url)

    @app.action(queue="jobs")
    def write(body: int, ctx: Context) -> None:
        _insert(ctx.transaction, body)

    for n in range(30):
        app.enqueue("write", n)
    app.work(stop_when_idle=True)
    assert _effects(app) == list(range(30))
    assert app.store.stats(["jobs"])[0].depth == 0
    app.close()


def test_a_failed_call_rolls_its_writes_back(url: str) -> None:
    app = _make(url)

    @app.action(queue="jobs", retry_base=0.0)
    def flaky(body: int, ctx: Context) -> None:
        _insert(ctx.transaction, body)
        if ctx.message.receive_count < 3:
            raise RuntimeError("crash after the write")

    app.enqueue("flaky", 42)
    app.work(stop_when_idle=True)
    assert _effects(app) == [42]  # two rolled-back writes, one committed
    app.close()


def test_once_keys_skip_an_effect_already_made(url: str) -> None:
    app = _make(url)
    made: list[str] = []

    @app.action(queue="jobs")
    def notify(body: dict[str, str], ctx: Context) -> None:
        if ctx.once(f"email:{body['user']}"):
            made.append(body["user"])

    for user in ["ann", "bob", "ann", "ann", "bob"]:
        app.enqueue("notify", {"user": user})
    app.work(stop_when_idle=True, concurrency=1)
    assert sorted(made) == ["ann", "bob"]
    assert app.store.once_seen(["email:ann", "email:bob", "email:cid"]) == {
        "email:ann",
        "email:bob",
    }
    app.close()
