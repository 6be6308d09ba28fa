"""The site navigation, which changes with the signed-in user's role.

Each entry names an endpoint; entries whose blueprint is not registered are skipped,
so an area adds itself here and appears once its blueprint exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.models import Role

PUBLIC = None  # visible to everyone, signed in or not
SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: object
    endpoint: str
    roles: tuple[Role, ...] | str | None = PUBLIC


NAV: tuple[NavEntry, ...] = (
    NavEntry("home", _l("首页"), "main.index"),
    NavEntry("scenarios", _l("场景清单"), "scenarios.index"),
    NavEntry("batches", _l("发布批次"), "scenarios.batches"),
    NavEntry("enterprises", _l("企业能力"), "enterprises.index"),
    NavEntry("demonstrations", _l("示范项目"), "showcase.index"),
    NavEntry("statistics", _l("数据统计"), "showcase.statistics"),
    NavEntry("dashboard", _l("工作台"), "main.dashboard", SIGNED_IN),
    NavEntry("my_scenarios", _l("我的场景"), "scenarios.mine", (Role.OWNER,)),
    NavEntry("evaluations", _l("评审与交付"), "applications.owner_evaluations", (Role.OWNER,)),
    NavEntry("reviews", _l("评审任务"), "applications.reviews", (Role.EXPERT,)),
    NavEntry("my_applications", _l("我的揭榜"), "applications.mine", (Role.ENTERPRISE,)),
    NavEntry("my_profile", _l("企业信息"), "enterprises.my_profile", (Role.ENTERPRISE,)),
    NavEntry("review", _l("场景审核"), "scenarios.review", (Role.DISTRICT_STAFF, Role.CITY_STAFF)),
    NavEntry("district_dashboard", _l("区县看板"), "showcase.dashboard", (Role.DISTRICT_STAFF, Role.CITY_STAFF)),
    NavEntry("verify", _l("企业核验"), "enterprises.review", (Role.DISTRICT_STAFF, Role.CITY_STAFF)),
    NavEntry("approvals", _l("注册审核"), "admin.approvals", (Role.DISTRICT_STAFF, Role.CITY_STAFF)),
    NavEntry("users", _l("用户管理"), "admin.users", (Role.CITY_STAFF,)),
    NavEntry("organisations", _l("单位管理"), "admin.organisations", (Role.CITY_STAFF,)),
    NavEntry("nominations", _l("示范推荐"), "showcase.nominations", (Role.OWNER, Role.DISTRICT_STAFF)),
    NavEntry("selection_rounds", _l("示范评选"), "showcase.rounds", (Role.CITY_STAFF,)),
    NavEntry("expert_reviews", _l("示范评审"), "showcase.reviews", (Role.EXPERT,)),
    NavEntry("appraisals", _l("年度考评"), "showcase.appraisals", (Role.CITY_STAFF,)),
)


def _visible(entry: NavEntry) -> bool:
    if entry.roles is PUBLIC:
        return True
    if not current_user.is_authenticated:
        return False
    if entry.roles == SIGNED_IN:
        return True
    return current_user.role in entry.roles


def nav_items() -> list[dict[str, object]]:
    """Navigation entries for the current user, as dicts for the template."""
    items = []
    for entry in NAV:
        if entry.endpoint not in current_app.view_functions or not _visible(entry):
            continue
        items.append({"key": entry.key, "label": entry.label, "endpoint": entry.endpoint, "url": url_for(entry.endpoint),
                      "public": entry.roles is PUBLIC})
    return items
