"""The site navigation, which changes with the signed-in user's role.

Each entry names an endpoint and nothing else about access: an entry is shown when its view
admits the user (``allowed_roles`` recorded by :func:`marketplace.permissions.roles_required`);
views without guards are public. An endpoint that does not exist fails loudly (``url_for``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.i18n import request_language
from marketplace.models import Role
from marketplace.permissions import allowed_roles

_CACHE = "marketplace.navigation"


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: object
    endpoint: str
    #: A section of the page (e.g. ``follows`` on the notification settings).
    anchor: str | None = None
    #: Shown to these roles only, even where the view admits more (a firm's own shortcuts).
    only: tuple[Role, ...] | None = None


NAV: tuple[NavEntry, ...] = (
    NavEntry("home", _l("首页"), "main.index"),
    NavEntry("scenarios", _l("场景清单"), "scenarios.index"),
    NavEntry("batches", _l("发布批次"), "scenarios.batches"),
    NavEntry("enterprises", _l("企业能力"), "enterprises.index"),
    NavEntry("publicity", _l("结果公示"), "applications.publicity_index"),
    NavEntry("demonstrations", _l("示范项目"), "showcase.index"),
    NavEntry("statistics", _l("数据统计"), "statistics.public"),
    NavEntry("dashboard", _l("工作台"), "main.dashboard"),
    NavEntry("my_scenarios", _l("我的场景"), "scenarios.mine"),
    NavEntry("evaluations", _l("评审与交付"), "applications.owner_evaluations"),
    NavEntry("reviews", _l("评审任务"), "applications.reviews"),
    NavEntry("my_applications", _l("我的揭榜"), "applications.mine"),
    NavEntry("my_profile", _l("企业信息"), "enterprises.my_profile"),
    NavEntry("recommendations", _l("为你推荐"), "matching.recommendations"),
    NavEntry("follows", _l("关注的场景"), "notifications.settings", anchor="follows", only=(Role.ENTERPRISE,)),
    NavEntry("saved_searches", _l("场景订阅"), "notifications.settings", anchor="searches",
             only=(Role.ENTERPRISE,)),
    NavEntry("review", _l("场景审核"), "scenarios.review"),
    NavEntry("district_dashboard", _l("区县看板"), "statistics.dashboard"),
    NavEntry("verify", _l("企业核验"), "enterprises.review"),
    NavEntry("approvals", _l("注册审核"), "admin.approvals"),
    NavEntry("users", _l("用户管理"), "admin.users"),
    NavEntry("organisations", _l("单位管理"), "admin.organisations"),
    NavEntry("legal", _l("协议与政策"), "legal.manage"),
    NavEntry("jobs", _l("后台任务"), "jobs.index"),
    NavEntry("nominations", _l("示范推荐"), "showcase.nominations"),
    NavEntry("selection_rounds", _l("示范评选"), "showcase.rounds"),
    NavEntry("expert_reviews", _l("示范评审"), "showcase.reviews"),
    NavEntry("appraisals", _l("年度考评"), "appraisal.index"),
)


def _build(role: Role | None) -> list[dict[str, object]]:
    items = []
    for entry in NAV:
        roles = allowed_roles(entry.endpoint)
        if roles is not None and role not in roles:
            continue
        if entry.only is not None and role not in entry.only:
            continue
        items.append({"key": entry.key, "label": str(entry.label), "endpoint": entry.endpoint,
                      "url": url_for(entry.endpoint, _anchor=entry.anchor), "public": roles is None})
    return items


def nav_items() -> list[dict[str, object]]:
    """Navigation entries for the current user, as dicts for the template (``public``: in the top bar).

    The entries depend only on the role, the language and where the site is mounted, so they are built
    once per process for each combination (the access rules are fixed when the app is built) instead
    of on every page: about thirty ``url_for`` calls and translations less per request.
    """
    role = current_user.role if current_user.is_authenticated else None
    key = (role, request_language(), request.script_root)
    cache: dict[tuple, list[dict[str, object]]] = current_app.extensions.setdefault(_CACHE, {})
    items = cache.get(key)
    if items is None:
        items = cache[key] = _build(role)
    return [dict(item) for item in items]
