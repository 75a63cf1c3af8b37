"""G1 (page latency and throughput vs the floor), G2 (statements per page) and G7 (memory over 50,000 pages)."""

from __future__ import annotations

import json
import statistics

from bench.common import PAGE_QUERY, Bench, Row, graphql, in_turn, ratio, spread
from bench.dataset import G2_SIZES
from bench.load import Request, checked, wrk

PAGE_STATEMENT_LIMIT = 5
# G1 since issue 16: the page on stock Strawberry with Strawberry's own extensions, against the hand-written floor.
G1_P50_GOAL = 2.5
G1_THROUGHPUT_GOAL = 0.4
G7_REQUESTS = 50_000


def page_requests(bench: Bench, token: str | None = None) -> tuple[Request, Request]:
    token = token or bench.fixture.page_token
    return graphql(PAGE_QUERY, token), graphql(PAGE_QUERY, token, path="/bench/floor/page")


def check_page_equality(bench: Bench) -> None:
    """The floor must answer byte for byte what GraphQL answers, or its timings mean nothing."""
    gql, floor = page_requests(bench)
    client = bench.client()
    try:
        for _attempt in range(3):  # a once-a-minute activity write can land between the two requests
            gql_status, gql_body, _ = client.send(gql)
            floor_status, floor_body, _ = client.send(floor)
            if gql_status == floor_status == 200 and gql_body == floor_body:
                data = json.loads(gql_body)["data"]["viewer"]
                if data["connectedApps"]["totalCount"] != 10 or data["sessions"]["totalCount"] != 5:
                    raise RuntimeError(f"the page account is not 10 apps × 5 sessions: {gql_body[:200]!r}")
                return
        raise RuntimeError(f"floor differs from GraphQL:\n{gql_status} {gql_body!r}\n{floor_status} {floor_body!r}")
    finally:
        client.close()


def g1_page(bench: Bench) -> list[Row]:
    check_page_equality(bench)
    gql, floor = page_requests(bench)
    for request in (gql, floor):  # warm both paths (statement caches, pool, branch predictors of the loop)
        wrk(bench.base_url, request, connections=8, seconds=bench.seconds(3, 1))
    rounds = 1 if bench.quick else 3
    p50: dict[str, list[float]] = {"gql": [], "floor": []}
    rps: dict[str, list[float]] = {"gql": [], "floor": []}
    duration = bench.seconds(5, 2)
    for round_ in range(rounds):  # interleaved, so drift on a shared machine hits both sides alike
        sides = in_turn(round_, [("gql", gql), ("floor", floor)])
        for name, request in sides:
            result = checked(wrk(bench.base_url, request, connections=1, seconds=duration))
            p50[name].append(result.p50_ms)
        for name, request in sides:
            rps[name].append(checked(wrk(bench.base_url, request, connections=32, seconds=duration)).rps)
    p50_gql, p50_floor = statistics.median(p50["gql"]), statistics.median(p50["floor"])
    rps_gql, rps_floor = statistics.median(rps["gql"]), statistics.median(rps["floor"])
    p50_ratios = [g / f for g, f in zip(p50["gql"], p50["floor"], strict=True)]
    rps_ratios = [g / f for g, f in zip(rps["gql"], rps["floor"], strict=True)]
    return [
        Row("G1", "page p50 @ c=1 (GraphQL vs floor)", p50_gql, p50_floor, "ms", ratio(p50_gql, p50_floor),
            "≤ 2.5×", p50_gql / p50_floor <= G1_P50_GOAL, spread(p50_ratios)),
        Row("G1", "page throughput @ c=32 (GraphQL vs floor)", rps_gql, rps_floor, "req/s",
            ratio(rps_gql, rps_floor), "≥ 0.4×", rps_gql / rps_floor >= G1_THROUGHPUT_GOAL, spread(rps_ratios)),
    ]


def g2_statements(bench: Bench) -> list[Row]:
    counts = {}
    client = bench.client()
    try:
        for size in G2_SIZES:
            request = graphql(PAGE_QUERY, bench.fixture.g2_tokens[size])
            bench.statements(client, request)  # first request may write last_active_at; count the second
            counts[size], body = bench.statements(client, request)
            if json.loads(body)["data"]["viewer"]["connectedApps"]["totalCount"] != size:
                raise RuntimeError(f"account with {size} apps answered {body[:200]!r}")
    finally:
        client.close()
    same = len(set(counts.values())) == 1
    worst = max(counts.values())
    return [Row("G2", "SQL statements per page, N = " + "/".join(f"{n:,}" for n in counts), worst, None,
                "stmts", None, f"identical, ≤ {PAGE_STATEMENT_LIMIT}", same and worst <= PAGE_STATEMENT_LIMIT,
                " / ".join(str(c) for c in counts.values()))]


def g7_memory(bench: Bench) -> list[Row]:
    gql, _ = page_requests(bench)
    wrk(bench.base_url, gql, connections=32, seconds=bench.seconds(5, 2))  # warm-up
    before = bench.stats()["rss_kib"]
    target = G7_REQUESTS // 10 if bench.quick else G7_REQUESTS
    done = 0
    while done < target:
        done += checked(wrk(bench.base_url, gql, connections=32, seconds=10)).requests
    after = bench.stats()["rss_kib"]
    growth = after / before - 1
    return [Row("G7", f"worker RSS after warm-up vs after {done:,} pages", after / 1024, before / 1024, "MiB",
                after / before, "growth ≤ 10%", growth <= 0.10, f"growth {growth:+.1%}")]

