"""Benchmark the search backends on a generated corpus of realistic scenarios.

Usage::

    python scripts/bench_search.py [-n 50000] [--queries 200] [--pg-url URL] [--seed 7]

Builds N scenario-like records (fixed seed, varied Chinese vocabulary of the programme's
domains) in a temporary SQLite database, then measures for each backend: index build time,
index size on disk, and query latency (p50 / p95 / max) over varied Chinese queries (single
words, two words, phrases, exclusions, with filters; every query computes all facets).  A plain
SQL ``LIKE '%…%'`` scan over the same SQLite table (total, first page and the same facet counts
by ``GROUP BY``) is measured in the same run as the baseline.

With ``--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` a temporary database
``search_bench_<random>`` is created on that server for the PostgreSQL backend and dropped at the
end.  The LAST line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketplace.search.backend import SearchBackend
from marketplace.search.documents import BUDGET_BANDS, SearchDocument, SearchQuery
from marketplace.search.whoosh_backend import WhooshBackend
from marketplace.text.tokenizer import warm_up

DISTRICTS = {
    "500103": "渝中区",
    "500104": "大渡口区",
    "500105": "江北区",
    "500106": "沙坪坝区",
    "500107": "九龙坡区",
    "500108": "南岸区",
    "500109": "北碚区",
    "500112": "渝北区",
    "500113": "巴南区",
    "500199": "两江新区",
    "500198": "重庆高新区",
}
DOMAINS = {
    "software": "软件开发",
    "ic": "集成电路设计",
    "industrial_design": "工业设计",
    "security": "信息安全",
    "ai": "人工智能",
    "iiot": "工业互联网",
    "iot": "物联网和嵌入式软件",
    "it_services": "信息技术服务",
    "digital_content": "数字内容服务",
    "data": "数据服务",
    "platform": "互联网平台服务",
    "emerging": "新兴技术服务",
}
THEMES = {"manufacturing": "智造重镇", "smart_city": "智慧名城"}
OWNERS = [
    "市交通局",
    "市卫生健康委",
    "市教委",
    "市生态环境局",
    "市应急管理局",
    "市水利局",
    "市城市管理局",
    "市公安局",
    "市民政局",
    "市人力社保局",
    "市市场监管局",
    "市文化旅游委",
    "市农业农村委",
    "市住房城乡建委",
    "市大数据发展局",
    "市第一人民医院",
    "市急救医疗中心",
    "轨道交通集团",
    "水务集团",
    "能源投资集团",
    "长安汽车",
    "机场集团",
    "港务物流集团",
    "燃气集团",
    "电力公司",
    "区政务服务中心",
    "区教育局",
    "区街道办事处",
]
AREAS = [
    "交通",
    "医疗",
    "教育",
    "政务",
    "应急",
    "环保",
    "水务",
    "能源",
    "制造",
    "物流",
    "农业",
    "文旅",
    "社区",
    "养老",
    "金融",
    "城市管理",
    "消防",
    "公安",
    "园区",
    "港口",
    "轨道交通",
    "电网",
    "燃气",
    "林业",
    "气象",
    "食品安全",
    "药品监管",
    "就业服务",
    "住房保障",
    "市场监管",
]
TECHS = [
    "人工智能",
    "大数据",
    "云计算",
    "区块链",
    "物联网",
    "数字孪生",
    "5G",
    "边缘计算",
    "知识图谱",
    "计算机视觉",
    "自然语言处理",
    "机器学习",
    "工业互联网",
    "信息安全",
    "隐私计算",
    "低代码",
    "智能客服",
    "视频分析",
    "北斗定位",
    "大模型",
    "数据治理",
    "智能巡检",
    "预测性维护",
    "人脸识别",
    "语音识别",
    "算法",
    "GIS",
    "BIM",
    "AR",
    "RPA",
]
SYSTEMS = [
    "平台",
    "系统",
    "数据中台",
    "指挥调度系统",
    "监测预警平台",
    "管理信息系统",
    "服务平台",
    "大屏",
    "小程序",
    "移动应用",
    "数据库",
    "感知网络",
    "决策支持系统",
    "一网通办系统",
    "综合监管平台",
    "调度中心",
]
ADJ = ["智慧", "智能", "数字化", "一体化", "协同", "精细化", "全域", "实时"]
VERBS = ["建设", "升级改造", "开发", "集成", "部署", "运维服务", "试点应用", "推广应用"]
GOALS = [
    "提升{area}服务效率",
    "降低{area}运行成本",
    "实现{area}数据互联互通",
    "支撑{area}科学决策",
    "提高{area}风险预警能力",
    "优化{area}资源配置",
    "改善群众办事体验",
    "推动{area}数字化转型",
]
REQUIREMENTS = [
    "投标单位须具备信息系统集成资质，近三年有类似{area}项目业绩。",
    "系统需通过网络安全等级保护三级测评，数据存储于政务云。",
    "须采用国产化软硬件，支持信创适配，提供源代码及知识产权说明。",
    "平台应支持{tech}模型的在线训练与部署，接口遵循国家和行业标准。",
    "要求提供不少于三年的运维服务，故障响应时间不超过两小时。",
    "项目团队应包含{tech}方向高级工程师不少于五名。",
    "需与现有{area}业务系统对接，完成历史数据迁移和清洗。",
    "应满足个人信息保护法和数据安全法的相关要求，落实数据分类分级。",
]
ACCEPTANCE = [
    "验收标准：系统连续稳定运行三个月，关键指标达到设计要求。",
    "验收标准：{area}业务办理时间缩短百分之三十以上。",
    "验收标准：识别准确率不低于百分之九十五，平均响应时间小于一秒。",
    "验收标准：覆盖全区{area}重点场所，数据接入率达到百分之百。",
]
FUNDING = [
    "资金来源为市级财政专项资金。",
    "资金来源为区级财政预算。",
    "资金来源为企业自筹。",
    "资金来源为专项债券和社会资本。",
]
STATUSES = ["published"] * 6 + ["awarded", "in_delivery", "accepted", "unsuccessful"]


def _scenario(rng: random.Random, i: int, now: datetime) -> SearchDocument:
    code = rng.choice(list(DISTRICTS))
    district = DISTRICTS[code]
    domain = rng.choice(list(DOMAINS))
    area = rng.choice(AREAS)
    tech = rng.choice(TECHS)
    tech2 = rng.choice(TECHS)
    owner = rng.choice(OWNERS)
    title = rng.choice(
        [
            f"{district}{rng.choice(ADJ)}{area}{rng.choice(SYSTEMS)}{rng.choice(VERBS)}",
            f"基于{tech}的{area}{rng.choice(SYSTEMS)}{rng.choice(VERBS)}项目",
            f"{owner}{area}{tech}应用场景",
            f"{rng.choice(ADJ)}{area}{tech}{rng.choice(SYSTEMS)}",
        ]
    )
    fmt = {"area": area, "tech": tech}
    sentences = [
        f"本项目由{owner}发起，拟在{district}{rng.choice(VERBS)}{rng.choice(ADJ)}{area}{rng.choice(SYSTEMS)}。",
        f"综合运用{tech}和{tech2}技术，{rng.choice(GOALS).format(**fmt)}，{rng.choice(GOALS).format(**fmt)}。",
        f"主要建设内容包括{area}数据采集、{rng.choice(SYSTEMS)}开发、{tech2}能力建设和{rng.choice(AREAS)}业务协同。",
        *(r.format(**fmt) for r in rng.sample(REQUIREMENTS, 3)),
        rng.choice(ACCEPTANCE).format(**fmt),
        rng.choice(FUNDING),
    ]
    rng.shuffle(sentences)
    published = now - timedelta(days=rng.uniform(0, 900))
    return SearchDocument(
        doc_type="scenario",
        doc_id=i,
        title=title,
        body="".join(sentences),
        extra=f"{owner} {district} {DOMAINS[domain]} 第{rng.randint(1, 120)}批",
        district=code,
        domain=domain,
        status=rng.choice(STATUSES),
        batches=tuple(str(b) for b in rng.sample(range(1, 121), rng.choice([1, 1, 2]))),
        budget=round(min(20000.0, rng.lognormvariate(5.0, 1.2)), 2),
        published_at=published,
        deadline=published + timedelta(days=rng.randint(20, 90)),
        theme=rng.choice(list(THEMES)),
        url=f"/scenarios/{i}",
    )


def _enterprise(rng: random.Random, i: int, now: datetime) -> SearchDocument:
    code = rng.choice(list(DISTRICTS))
    techs = rng.sample(TECHS, 3)
    areas = rng.sample(AREAS, 2)
    return SearchDocument(
        doc_type="enterprise",
        doc_id=i,
        title=f"重庆{rng.choice(['云', '智', '数', '信', '联'])}{rng.choice(['创', '达', '通', '科', '擎'])}"
        f"{rng.choice(['科技', '信息技术', '软件', '数据'])}有限公司",
        body=f"公司专注{techs[0]}、{techs[1]}和{techs[2]}，服务{areas[0]}和{areas[1]}行业客户，"
        f"具备软件开发和系统集成能力，获评市级专精特新中小企业。",
        extra=DISTRICTS[code],
        district=code,
        domain=rng.choice(list(DOMAINS)),
        published_at=now - timedelta(days=rng.uniform(0, 900)),
        url=f"/enterprises/{i}",
    )


def generate_corpus(n: int, seed: int = 7, now: datetime | None = None) -> Iterator[SearchDocument]:
    """N documents: about 90% scenarios, 10% firms (deterministic for a seed)."""
    rng = random.Random(seed)
    now = now or datetime(2025, 6, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        yield _enterprise(rng, i, now) if i % 10 == 0 else _scenario(rng, i, now)


def generate_queries(count: int, seed: int = 11) -> list[SearchQuery]:
    """Varied queries: single words, two words, phrases, exclusions, browse, with filters."""
    rng = random.Random(seed)
    words = TECHS + AREAS + ["智慧交通", "医疗影像", "信息系统集成", "政务云", "等级保护", "运维", "监测预警"]
    queries: list[SearchQuery] = []
    for i in range(count):
        kind = i % 10
        if kind in (0, 1, 2, 3):
            q = rng.choice(words)
        elif kind in (4, 5, 6):
            q = f"{rng.choice(TECHS)} {rng.choice(AREAS)}"
        elif kind == 7:
            q = f'"{rng.choice(AREAS)}{rng.choice(["数据", "平台", "服务"])}"'
        elif kind == 8:
            q = f"{rng.choice(AREAS)} -{rng.choice(TECHS)}"
        else:
            q = ""
        filters: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.2:
            filters["districts"] = [rng.choice(list(DISTRICTS))]
        elif roll < 0.35:
            filters["statuses"] = ["open"]
        elif roll < 0.45:
            filters["domains"] = [rng.choice(list(DOMAINS))]
            filters["budget_min"] = 50.0
        sort = rng.choice(["relevance"] * 3 + ["newest", "deadline", "budget"])
        queries.append(SearchQuery(q=q, sort=sort, page=rng.choice([1, 1, 1, 2]), **filters))
    return queries


# -- SQLite source table and the LIKE baseline ----------------------------------------------


def _to_row(doc: SearchDocument) -> tuple[Any, ...]:
    return (
        doc.doc_type,
        doc.doc_id,
        doc.title,
        doc.body,
        doc.extra,
        doc.district,
        doc.domain,
        doc.status,
        " " + " ".join(doc.batches) + " ",
        doc.budget,
        doc.published_at.timestamp() if doc.published_at else None,
        doc.deadline.timestamp() if doc.deadline else None,
        doc.theme,
        doc.url,
    )


COLUMNS = (
    "doc_type, doc_id, title, body, extra, district, domain, status, batches, budget, published_at, "
    "deadline, theme, url"
)


def build_sqlite(path: Path, docs: Iterator[SearchDocument]) -> int:
    """Write the corpus to a plain SQLite table ``records``; return the row count."""
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE records ({COLUMNS}, PRIMARY KEY (doc_type, doc_id))")
    count = 0
    batch: list[tuple[Any, ...]] = []
    for doc in docs:
        batch.append(_to_row(doc))
        count += 1
        if len(batch) == 2000:
            con.executemany(f"INSERT INTO records VALUES ({', '.join('?' * 14)})", batch)
            batch = []
    if batch:
        con.executemany(f"INSERT INTO records VALUES ({', '.join('?' * 14)})", batch)
    con.commit()
    con.close()
    return count


def read_sqlite(path: Path) -> Iterator[SearchDocument]:
    """The documents back from the SQLite table (what a reindex reads from the database)."""
    con = sqlite3.connect(path)
    try:
        for row in con.execute(f"SELECT {COLUMNS} FROM records ORDER BY doc_type, doc_id"):
            (
                doc_type,
                doc_id,
                title,
                body,
                extra,
                district,
                domain,
                status,
                batches,
                budget,
                pub,
                dl,
                theme,
                url,
            ) = row
            yield SearchDocument(
                doc_type=doc_type,
                doc_id=doc_id,
                title=title,
                body=body,
                extra=extra,
                district=district,
                domain=domain,
                status=status,
                batches=tuple(batches.split()),
                budget=budget,
                published_at=datetime.fromtimestamp(pub, UTC) if pub is not None else None,
                deadline=datetime.fromtimestamp(dl, UTC) if dl is not None else None,
                theme=theme,
                url=url,
            )
    finally:
        con.close()


def like_search(con: sqlite3.Connection, query: SearchQuery, now: float) -> int:
    """The naive baseline: every word as ``LIKE '%word%'`` on title/body/extra, filters, total,
    first page and the same facet counts with ``GROUP BY``.  Returns the total."""
    where: list[str] = []
    params: list[Any] = []
    for raw in query.q.split():
        negative = raw.startswith("-")
        word = raw.lstrip("-").strip('"')
        if not word:
            continue
        cond = "(title LIKE ? OR body LIKE ? OR extra LIKE ?)"
        where.append(f"NOT {cond}" if negative else cond)
        params += [f"%{word}%"] * 3
    if query.districts:
        where.append(f"district IN ({', '.join('?' * len(query.districts))})")
        params += list(query.districts)
    if query.domains:
        where.append(f"domain IN ({', '.join('?' * len(query.domains))})")
        params += list(query.domains)
    if query.statuses:
        where.append("status = 'published' AND (deadline IS NULL OR deadline > ?)")
        params.append(now)
    if query.budget_min is not None:
        where.append("budget >= ?")
        params.append(query.budget_min)
    clause = " AND ".join(where) or "1=1"
    total = con.execute(f"SELECT count(*) FROM records WHERE {clause}", params).fetchone()[0]
    order = {"budget": "budget DESC", "deadline": "deadline ASC"}.get(query.sort, "published_at DESC")
    con.execute(
        f"SELECT doc_type, doc_id, title, body FROM records WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, query.per_page, query.offset],
    ).fetchall()
    band = " ".join(f"WHEN budget < {b.high} THEN '{b.label}'" for b in BUDGET_BANDS if b.high is not None)
    for expr in ("doc_type", "district", "domain", "status", "theme", f"CASE {band} ELSE '≥1000万' END"):
        con.execute(f"SELECT {expr}, count(*) FROM records WHERE {clause} GROUP BY 1", params).fetchall()
    return total


# -- measurement ---------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return {
        "p50_ms": round(pct(0.50) * 1000, 2),
        "p95_ms": round(pct(0.95) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def _time_queries(
    run: Callable[[SearchQuery], Any],
    queries: list[SearchQuery],
    server_cpu: Callable[[], float] | None = None,
) -> dict[str, float]:
    """Latency percentiles, wall clock and this process's CPU time (the machine may be shared:
    CPU time shows the cost without other processes' load).  With *server_cpu* (seconds of CPU
    used so far by the database server process answering the queries), its share too."""
    for q in queries[:5]:  # warm up the process (dictionary, first segment load)
        run(q)
    wall, cpu, server = [], [], []
    for q in queries:
        start_server = server_cpu() if server_cpu else 0.0
        start, start_cpu = time.perf_counter(), time.process_time()
        run(q)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if server_cpu:
            server.append(server_cpu() - start_server)
    cpu_stats = _percentiles(cpu)
    result = {
        **_percentiles(wall),
        "cpu_p50_ms": cpu_stats["p50_ms"],
        "cpu_p95_ms": cpu_stats["p95_ms"],
    }
    if server:
        server_stats = _percentiles(server)
        result["server_cpu_p50_ms"] = server_stats["p50_ms"]
        result["server_cpu_p95_ms"] = server_stats["p95_ms"]
        both = _percentiles([c + s for c, s in zip(cpu, server, strict=True)])
        result["total_cpu_p50_ms"] = both["p50_ms"]
        result["total_cpu_p95_ms"] = both["p95_ms"]
    return result


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its finished child processes (a Whoosh rebuild may
    write its segments in worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _bench_backend(
    backend: SearchBackend,
    db_path: Path,
    queries: list[SearchQuery],
    n: int,
    *,
    rebuild: bool = True,
    server_cpu: Callable[[], float] | None = None,
) -> dict[str, Any]:
    build = build_cpu = build_self = None
    if rebuild:
        start, start_cpu, start_self = time.perf_counter(), _cpu_with_children(), time.process_time()
        count = backend.rebuild(read_sqlite(db_path))
        build, build_cpu = round(time.perf_counter() - start, 1), round(_cpu_with_children() - start_cpu, 1)
        build_self = round(time.process_time() - start_self, 1)
        assert count == n, (count, n)
    first = time.perf_counter()
    backend.query(SearchQuery())
    first_query = time.perf_counter() - first
    latency = _time_queries(backend.query, queries, server_cpu)
    estimated = sum(1 for q in queries if backend.query(q).total_is_estimate)
    return {
        "build_s": build,
        "build_cpu_s": build_cpu,
        **({"build_cpu_main_s": build_self} if build_self != build_cpu else {}),
        "first_query_ms": round(first_query * 1000, 1),
        **latency,
        "estimated_totals": estimated,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a report and, last, one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--records", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-url", default=None, help="SQLAlchemy URL of a PostgreSQL server")
    parser.add_argument("--skip-like", action="store_true")
    parser.add_argument(
        "--pg-db",
        default=None,
        help="keep the PostgreSQL corpus in this database and reuse it when it already holds N records",
    )
    parser.add_argument(
        "--backends", default="whoosh,postgres", help="comma-separated: whoosh, postgres (postgres needs --pg-url)"
    )
    parser.add_argument(
        "--pg-repeat",
        type=int,
        default=0,
        help="PostgreSQL: also run the queries this many more times and report each query's least "
        "app and server CPU (steady state: statements built, plans cached; steady_* figures)",
    )
    args = parser.parse_args(argv)
    # (The Whoosh rebuild logs its worker processes' CPU time.)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    search_log = logging.getLogger("marketplace.search")
    search_log.addHandler(handler)
    search_log.setLevel(logging.INFO)

    warm_up()
    workdir = Path(tempfile.mkdtemp(prefix="bench_search_"))
    report: dict[str, Any] = {
        "records": args.records,
        "queries": args.queries,
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    try:
        db_path = workdir / "bench.sqlite"
        start = time.perf_counter()
        build_sqlite(db_path, generate_corpus(args.records, args.seed))
        print(f"corpus: {args.records} records in SQLite, {time.perf_counter() - start:.1f} s", flush=True)
        queries = generate_queries(args.queries)
        now = datetime(2025, 6, 1, tzinfo=UTC)
        for q in queries:
            q.now = now

        backends = {name.strip() for name in args.backends.split(",")}
        if "whoosh" in backends:
            whoosh = WhooshBackend(workdir / "whoosh")
            result = _bench_backend(whoosh, db_path, queries, args.records)
            result["index_mb"] = round(_dir_size(workdir / "whoosh") / 2**20, 1)
            report["whoosh"] = result
            print(f"whoosh: {result}", flush=True)
            whoosh.close()

        if args.pg_url and "postgres" in backends:
            report["postgres"] = _bench_postgres(
                args.pg_url, db_path, queries, args.records, args.pg_db, repeat=args.pg_repeat
            )
            print(f"postgres: {report['postgres']}", flush=True)

        if not args.skip_like:
            con = sqlite3.connect(db_path)
            ts = now.timestamp()
            report["like"] = _time_queries(lambda q: like_search(con, q, ts), queries)
            con.close()
            print(f"like: {report['like']}", flush=True)
            for name in ("whoosh", "postgres"):
                if name in report:
                    report[f"speedup_{name}_vs_like_p50"] = round(
                        report["like"]["p50_ms"] / max(report[name]["p50_ms"], 0.001), 1
                    )
                    report[f"speedup_{name}_vs_like_p95"] = round(
                        report["like"]["p95_ms"] / max(report[name]["p95_ms"], 0.001), 1
                    )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["load_average_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, ensure_ascii=False))
    return 0


def _server_cpu(engine: Any) -> Callable[[], float]:
    """CPU seconds used so far by the server process behind *engine*'s one pooled connection
    (``/proc/<pid>/schedstat``: the server must run on this machine), or nothing."""
    import sqlalchemy as sa

    with engine.connect() as con:
        pid = con.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    path = Path(f"/proc/{pid}/schedstat")

    def read() -> float:
        try:
            return int(path.read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return 0.0

    return read


def _steady_state(
    run: Callable[[SearchQuery], Any], queries: list[SearchQuery], server_cpu: Callable[[], float], repeat: int
) -> dict[str, float]:
    """Each query's least app CPU, server CPU and their sum over *repeat* runs, as percentiles:
    what a query costs once its statements are built and cached (on a shared machine the least
    of several runs also drops most of the other processes' interference)."""
    best = [[float("inf")] * 3 for _ in queries]
    for _ in range(repeat):
        for i, q in enumerate(queries):
            start_server, start_cpu = server_cpu(), time.process_time()
            run(q)
            cpu, server = time.process_time() - start_cpu, server_cpu() - start_server
            best[i] = [min(best[i][0], cpu), min(best[i][1], server), min(best[i][2], cpu + server)]
    result: dict[str, float] = {}
    for index, name in enumerate(("steady_cpu", "steady_server_cpu", "steady_total_cpu")):
        stats = _percentiles([b[index] for b in best])
        result[f"{name}_p50_ms"], result[f"{name}_p95_ms"] = stats["p50_ms"], stats["p95_ms"]
    return result


def _bench_postgres(
    url: str, db_path: Path, queries: list[SearchQuery], n: int, keep: str | None = None, repeat: int = 0
) -> dict[str, Any]:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from marketplace.models.search import SearchEntry
    from marketplace.search.postgres_backend import PostgresBackend

    name = keep or f"search_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        exists = con.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    # One pooled connection: the server process answering every query is known.
    engine = sa.create_engine(sa.make_url(url).set(database=name), pool_size=1, max_overflow=0)
    try:
        SearchEntry.metadata.create_all(engine, tables=[SearchEntry.__table__])
        with engine.connect() as con:
            have = con.execute(sa.text("SELECT count(*) FROM search_entries")).scalar_one()
        backend = PostgresBackend(engine)
        server_cpu = _server_cpu(engine)
        result = _bench_backend(backend, db_path, queries, n, rebuild=have != n, server_cpu=server_cpu)
        if repeat > 0:
            result.update(_steady_state(backend.query, queries, server_cpu, repeat))
        with Session(engine) as session:
            size = session.execute(sa.text("SELECT pg_total_relation_size('search_entries')")).scalar_one()
        result["index_mb"] = round(size / 2**20, 1)
        backend.close()
        return result
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as con:
                con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
