"""Fixtures of the search tests: a small realistic corpus and the same contract run against
every backend (Whoosh in a temporary directory; PostgreSQL in a fresh ``search_test_*``
database when ``TEST_DATABASE_URL`` names a server).

These tests need no Flask app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.search.backend import SearchBackend
from marketplace.search.documents import SearchDocument
from tests import dbsupport

#: The fixed "now" of the corpus: deadlines are set relative to it.
NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)

YUZHONG, JIANGBEI, YUBEI, LIANGJIANG = "500103", "500105", "500112", "500199"


def _scenario(
    doc_id: int,
    title: str,
    body: str,
    extra: str = "",
    *,
    district: str = YUZHONG,
    domain: str = "software",
    status: str = "published",
    batches: tuple[str, ...] = ("1",),
    budget: float | None = 100.0,
    published_days_ago: float = 10,
    deadline_in_days: float | None = 20,
    theme: str = "smart_city",
) -> SearchDocument:
    published = NOW - timedelta(days=published_days_ago)
    return SearchDocument(
        doc_type="scenario",
        doc_id=doc_id,
        title=title,
        body=body,
        extra=extra,
        district=district,
        domain=domain,
        status=status,
        batches=batches,
        budget=budget,
        published_at=published,
        deadline=NOW + timedelta(days=deadline_in_days) if deadline_in_days is not None else None,
        theme=theme,
        url=f"/scenarios/{doc_id}",
    )


def build_corpus() -> list[SearchDocument]:
    """Fifteen scenario-like records, a firm and a demonstration project."""
    return [
        _scenario(
            1,
            "人工智能辅助行政审批系统建设",
            "利用人工智能技术对企业开办、工程建设等审批材料进行自动识别与预审，减少人工核验时间。"
            "要求支持表单要素抽取、智能比对和审批风险提示，与现有政务服务平台对接。",
            "市政务服务管理办公室 渝中区 人工智能",
            domain="ai",
            budget=320,
            published_days_ago=30,
            deadline_in_days=15,
            batches=("1", "2"),
        ),
        _scenario(
            2,
            "智慧交通信号灯控制系统升级",
            "对主城区300个路口的信号机进行联网改造，建设区域协调控制平台，根据实时车流自动调整配时，"
            "高峰时段主干道平均通行时间下降百分之十五。",
            "市交通局 江北区 物联网和嵌入式软件",
            district=JIANGBEI,
            domain="iot",
            budget=860,
            published_days_ago=20,
            deadline_in_days=5,
        ),
        _scenario(
            3,
            "医疗影像辅助诊断平台",
            "为区级医院建设影像数据归集与辅助诊断系统，覆盖CT、核磁共振和X光片，支持肺结节和骨折的自动标注，"
            "诊断报告与医院信息系统互通。",
            "区卫生健康委 渝北区 人工智能",
            district=YUBEI,
            domain="ai",
            budget=450,
            published_days_ago=5,
            deadline_in_days=40,
        ),
        _scenario(
            4,
            "政务服务个性化推荐算法研发",
            "根据办事人的历史申请和公开画像，研发事项推荐算法，在办事大厅和移动端主动推送可办事项，"
            "推荐准确率不低于百分之八十。",
            "市大数据发展局 两江新区 数据服务",
            district=LIANGJIANG,
            domain="data",
            budget=180,
            published_days_ago=40,
            deadline_in_days=-3,  # deadline passed: derived status "closed"
        ),
        _scenario(
            5,
            "全市政务网络信息安全态势感知平台",
            "汇聚各部门网络流量、日志和漏洞数据，建设信息安全态势感知与通报处置平台，"
            "实现7×24小时监测预警，系统须通过等级保护三级测评。",
            "市委网信办 渝中区 信息安全",
            domain="security",
            budget=1500,
            published_days_ago=12,
            deadline_in_days=30,
            batches=("2",),
        ),
        _scenario(
            6,
            "工业互联网标识解析二级节点建设",
            "面向汽车摩托车产业建设工业互联网标识解析二级节点，为上下游企业提供标识注册、解析和数据共享服务，"
            "接入企业不少于二百家。",
            "市经济信息委 两江新区 工业互联网",
            district=LIANGJIANG,
            domain="iiot",
            budget=900,
            published_days_ago=25,
            deadline_in_days=10,
            theme="manufacturing",
        ),
        _scenario(
            7,
            "工业互联网平台数字孪生工厂试点",
            "在一家整车企业建设数字孪生工厂，基于工业互联网平台对冲压、焊装产线进行三维建模与实时仿真，"
            "优化设备利用率。",
            "长安汽车 两江新区 工业互联网",
            district=LIANGJIANG,
            domain="iiot",
            budget=1200,
            published_days_ago=8,
            deadline_in_days=25,
            theme="manufacturing",
        ),
        _scenario(
            8,
            "跨部门数据共享交换平台",
            "建设全区统一的数据共享交换平台，打通公安、民政、人社等部门的业务数据，建立数据目录和共享审批流程，"
            "支撑一网通办。",
            "区大数据发展局 九龙坡区 数据服务",
            district="500107",
            domain="data",
            budget=260,
            published_days_ago=50,
            status="awarded",
            deadline_in_days=-30,
        ),
        _scenario(
            9,
            "区块链电子证照存证系统",
            "采用联盟链技术对营业执照、不动产权证等电子证照的签发和使用进行上链存证，"
            "提供跨部门的可信核验接口。",
            "市市场监管局 渝中区 新兴技术服务",
            domain="emerging",
            budget=75,
            published_days_ago=3,
            deadline_in_days=50,
            batches=("3",),
        ),
        _scenario(
            10,
            "5G智慧工地安全监管",
            "在在建工地部署5G高清摄像头和传感器，识别未戴安全帽、高处作业未系安全带等违规行为，"
            "并向监管部门推送告警。",
            "区住房城乡建委 渝北区 物联网和嵌入式软件",
            district=YUBEI,
            domain="iot",
            budget=45,
            published_days_ago=15,
            deadline_in_days=8,
        ),
        _scenario(
            11,
            "社区居家养老服务智慧平台",
            "为独居老人配置紧急呼叫和健康监测设备，平台对接社区卫生服务中心和家政服务商，"
            "提供助餐、助浴和上门护理的预约派单。",
            "区民政局 江北区 互联网平台服务",
            district=JIANGBEI,
            domain="platform",
            budget=120,
            published_days_ago=60,
            status="in_delivery",
            deadline_in_days=-45,
        ),
        _scenario(
            12,
            "长江水质在线监测预警系统",
            "在干流和主要支流布设水质自动监测站，实时采集溶解氧、氨氮等指标，超标自动预警并生成溯源分析报告。",
            "市生态环境局 南岸区 物联网和嵌入式软件",
            district="500108",
            domain="iot",
            budget=None,
            published_days_ago=90,
            status="accepted",
            deadline_in_days=-70,
        ),
        _scenario(
            13,
            "中小学智慧教育云平台",
            "建设覆盖全区中小学的教学资源云平台，支持在线备课、作业批改和学情分析，保障师生个人信息安全。",
            "区教委 沙坪坝区 软件开发",
            district="500106",
            domain="software",
            budget=600,
            published_days_ago=18,
            deadline_in_days=None,  # rolling call: open without a deadline
        ),
        _scenario(
            14,
            "城市应急指挥调度一体化平台",
            "整合消防、医疗急救、防汛等部门的视频和通信资源，建设统一的应急指挥调度平台，"
            "支持突发事件的一键调度和资源可视化。",
            "市应急管理局 渝中区 信息技术服务",
            domain="it_services",
            budget=2300,
            published_days_ago=35,
            status="unsuccessful",
            deadline_in_days=-5,
        ),
        _scenario(
            15,
            "政务信息化项目运维服务",
            "为市级部门的信息化系统提供日常运维，包括服务器巡检、数据库备份和机房值守，"
            "并在重大活动期间保障安全生产和网络畅通。",
            "市大数据发展局 渝中区 信息技术服务",
            domain="it_services",
            budget=95,
            published_days_ago=7,
            deadline_in_days=12,
            batches=("3",),
        ),
        SearchDocument(
            doc_type="enterprise",
            doc_id=101,
            title="重庆云擎数据科技有限公司",
            body="专注政务大数据治理、数据共享交换和人工智能应用，获评市级专精特新中小企业。",
            extra="渝北区 数据服务",
            district=YUBEI,
            domain="data",
            published_at=NOW - timedelta(days=100),
            url="/enterprises/101",
        ),
        SearchDocument(
            doc_type="demonstration",
            doc_id=201,
            title="示范项目：主城区信号灯联网联控",
            body="2024年度本地优秀软件和应用示范项目，智慧交通建设的样板，路口通行效率提升百分之二十。",
            extra="江北区 物联网和嵌入式软件",
            district=JIANGBEI,
            domain="iot",
            status="accepted",
            published_at=NOW - timedelta(days=200),
            url="/showcase/201",
        ),
    ]



def both_backends(
    folder: Path, engine: sa.Engine, docs: Iterable[SearchDocument]
) -> Iterator[tuple[SearchBackend, SearchBackend]]:
    """Whoosh (in *folder*) and PostgreSQL (on *engine*) loaded with the same *docs*; cleared afterwards."""
    from marketplace.search.postgres_backend import PostgresBackend
    from marketplace.search.whoosh_backend import WhooshBackend

    docs = list(docs)
    whoosh, postgres = WhooshBackend(folder), PostgresBackend(engine)
    whoosh.rebuild(docs)
    postgres.rebuild(docs)
    yield whoosh, postgres
    whoosh.close()
    postgres.clear()


@pytest.fixture(scope="session")
def corpus() -> list[SearchDocument]:
    """The shared corpus (read-only)."""
    return build_corpus()


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    """An engine on a fresh ``search_test_*`` database holding only ``search_entries``."""
    server = dbsupport.postgres_server_url()
    if not server:
        pytest.skip("PostgreSQL search tests need TEST_DATABASE_URL (a PostgreSQL server URL)")
    if not dbsupport.postgres_reachable(server):
        pytest.skip(f"PostgreSQL server in TEST_DATABASE_URL is not reachable: {server}")
    from marketplace.models.search import SearchEntry

    with dbsupport.fresh_postgres_database(server, prefix="search_test") as url:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        SearchEntry.metadata.create_all(engine, tables=[SearchEntry.__table__])
        try:
            yield engine
        finally:
            engine.dispose()


def _whoosh(tmp_path_factory: pytest.TempPathFactory) -> SearchBackend:
    from marketplace.search.whoosh_backend import WhooshBackend

    backend = WhooshBackend(tmp_path_factory.mktemp("index"))
    backend.clear()  # built (empty): a write never creates a missing index
    return backend


def _postgres(request: pytest.FixtureRequest) -> SearchBackend:
    from marketplace.search.postgres_backend import PostgresBackend

    backend = PostgresBackend(request.getfixturevalue("pg_engine"))
    backend.clear()
    return backend


BACKEND_FACTORIES: dict[str, Callable[..., SearchBackend]] = {"whoosh": _whoosh, "postgres": _postgres}


@pytest.fixture(params=["whoosh", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchBackend]:
    """An empty backend of each kind (the same contract tests run on both)."""
    made = _whoosh(tmp_path_factory) if request.param == "whoosh" else _postgres(request)
    yield made
    made.close()


@pytest.fixture
def loaded(backend: SearchBackend, corpus: list[SearchDocument]) -> SearchBackend:
    """A backend holding the corpus."""
    backend.rebuild(corpus)
    return backend
