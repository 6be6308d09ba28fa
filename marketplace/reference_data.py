"""The programme's reference lists and an idempotent loader.

Migrations call :func:`ensure_reference_data`; a later migration that changes a
list calls it again. It uses light ``table()`` definitions on purpose, so an old
migration keeps working when the models grow new columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: (code, name, English name, central-urban?) — DESIGN.md §1.
DISTRICTS: list[tuple[str, str, str, bool]] = [
    ("yuzhong", "渝中区", "Yuzhong District", True),
    ("dadukou", "大渡口区", "Dadukou District", True),
    ("jiangbei", "江北区", "Jiangbei District", True),
    ("shapingba", "沙坪坝区", "Shapingba District", True),
    ("jiulongpo", "九龙坡区", "Jiulongpo District", True),
    ("nanan", "南岸区", "Nan'an District", True),
    ("beibei", "北碚区", "Beibei District", True),
    ("yubei", "渝北区", "Yubei District", True),
    ("banan", "巴南区", "Banan District", True),
    ("liangjiang", "两江新区", "Liangjiang New Area", True),
    ("gaoxin", "重庆高新区", "Chongqing High-tech Zone", True),
    ("other", "其他区县", "Other districts and counties", False),
]

#: (code, name, English name) — the 12 industry domains.
DOMAINS: list[tuple[str, str, str]] = [
    ("software", "软件开发", "Software development"),
    ("ic_design", "集成电路设计", "Integrated circuit design"),
    ("industrial_design", "工业设计", "Industrial design"),
    ("infosec", "信息安全", "Information security"),
    ("ai", "人工智能", "Artificial intelligence"),
    ("industrial_internet", "工业互联网", "Industrial internet"),
    ("iot_embedded", "物联网和嵌入式软件", "IoT and embedded software"),
    ("it_services", "信息技术服务", "IT services"),
    ("digital_content", "数字内容服务", "Digital content services"),
    ("data_services", "数据服务", "Data services"),
    ("internet_platform", "互联网平台服务", "Internet platform services"),
    ("emerging_tech", "新兴技术服务", "Emerging technology services"),
]

#: (code, name, English name) — application themes.
THEMES: list[tuple[str, str, str]] = [
    ("smart_manufacturing", "智造重镇", "Smart manufacturing"),
    ("smart_city", "智慧名城", "Smart city"),
]


def _table(name: str, *extra: sa.Column) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("name_en", sa.String),
        sa.column("sort_order", sa.Integer),
        *extra,
    )


def ensure_reference_data(connection: Connection) -> None:
    """Insert missing reference rows and refresh the names of existing ones."""
    lists = [
        (
            _table("districts", sa.column("is_central", sa.Boolean)),
            [
                {"code": c, "name": n, "name_en": e, "is_central": central}
                for c, n, e, central in DISTRICTS
            ],
        ),
        (_table("domains"), [{"code": c, "name": n, "name_en": e} for c, n, e in DOMAINS]),
        (_table("themes"), [{"code": c, "name": n, "name_en": e} for c, n, e in THEMES]),
    ]
    for table, rows in lists:
        existing = {row.code for row in connection.execute(sa.select(table.c.code))}
        for order, row in enumerate(rows, start=1):
            values = {**row, "sort_order": order}
            if row["code"] in existing:
                connection.execute(
                    sa.update(table).where(table.c.code == row["code"]).values(**values)
                )
            else:
                connection.execute(sa.insert(table).values(**values))
