"""Clarification Q&A, 揭榜 applications and demonstration-project write-ups.

Each text is tailored to a scenario (as produced by ``corpus_scenarios``; only
``title`` and ``domain`` are required) and, for applications and demonstrations,
to a firm (as produced by ``corpus_firms``).
"""

from __future__ import annotations

import random
import re
from decimal import ROUND_HALF_UP, Decimal

from .corpus_firms import PROFILES
from .corpus_orgs import DISTRICTS, person_name
from .corpus_scenarios import POOLS, all_topics, fill

# ---------------------------------------------------------------------------
# Scenario context
# ---------------------------------------------------------------------------

_TOPICS = sorted(all_topics(), key=lambda t: -len(t["core"]))


_FACTORY_SYSTEMS = re.compile(r"MES|ERP|PLM|WMS|EDA")


def _context(rng: random.Random, scenario: dict) -> dict[str, str]:
    """Placeholders for a scenario: title, object, an existing system, months, budget."""
    domain = scenario.get("domain", "software")
    pool = POOLS.get(domain, POOLS["software"])
    systems = pool["systems"]
    if scenario.get("theme") == "smart_city":
        systems = tuple(s for s in systems if not _FACTORY_SYSTEMS.search(s)) or systems
    obj = scenario.get("object")
    if not obj:
        topic = next((t for t in _TOPICS if scenario.get("title", "").startswith(t["core"])), None)
        obj = topic["obj"] if topic else "本场景业务"
    return {
        "title": scenario.get("title", "本场景"),
        "obj": obj,
        "sys": rng.choice(systems),
        "months": str(scenario.get("delivery_months") or rng.randint(6, 12)),
        "budget": str(scenario.get("budget_wan") or ""),
    }


def _items(text: str | None) -> list[str]:
    """The items of a numbered list such as a scenario's requirements, without numbers."""
    items = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*\d+[.、]\s*", "", line).rstrip("；。 ")
        if line and not line.startswith("不包括"):
            items.append(line)
    return items


# ---------------------------------------------------------------------------
# Questions and answers
# ---------------------------------------------------------------------------

_GENERIC_QA = (
    ("本项目是否需要对接现有的{sys}？",
     "需要。{sys}的接口文档和测试环境由业主单位协调提供，揭榜方负责开发适配并完成联调，相关费用已包含在预算内。"),
    ("数据接口由谁提供？{obj}相关的历史数据能否在投标前获取样例？",
     "接口由现有系统承建单位按业主要求提供。样例数据涉及敏感信息，签订保密协议后可提供脱敏样本约{100-2000}条。"),
    ("是否要求信创环境部署？现阶段能否先在x86环境开发、后期迁移？",
     "要求最终部署在信创环境。开发阶段可以使用x86环境，但须在初验前完成国产软硬件环境的适配和性能测试。"),
    ("联合体是否可以揭榜？",
     "可以。联合体成员不超过{2-3}家，须明确牵头单位并提交联合体协议，牵头单位应为在渝注册的软件企业。"),
    ("预算是否包含硬件采购？",
     "不包含。本场景预算仅用于软件开发、集成和服务，{obj}相关硬件由业主单位另行采购或利旧。"),
    ("项目实施期间是否需要驻场？",
     "需求调研、联调和试运行阶段需要驻场，驻场人员不少于{2-5}人；其余阶段可远程开发，但须每周汇报进度。"),
    ("第三方测评费用由哪方承担？",
     "软件测评和等保测评由业主单位委托第三方机构开展，费用由业主单位承担；整改工作由揭榜方负责。"),
    ("付款节点如何安排？",
     "按合同签订、初验、终验三个节点分别支付{20-40}%、{30-40}%和剩余款项，具体以合同约定为准。"),
    ("是否要求揭榜单位在重庆有本地服务团队？",
     "要求。揭榜单位须在重庆设有服务团队，能够在{1-4}小时内到达现场处理重大问题。"),
    ("源代码和知识产权如何约定？",
     "定制开发部分的源代码和知识产权归业主单位所有；揭榜方已有的通用产品可只提供使用授权，须在方案中列明。"),
    ("能否使用开源组件？",
     "可以使用许可证清晰的开源组件，须在交付文档中列出组件清单及版本，并完成安全漏洞扫描。"),
    ("{obj}的现有数据量有多大？",
     "目前{obj}相关数据约{10-500}万条，年增长约{10-40}%，详细情况将在需求调研阶段提供。"),
    ("本场景对揭榜单位的资质有什么要求？",
     "不设置硬性资质门槛，但揭榜单位须具备同类项目实施经验，具有CMMI、ITSS等资质的在评审中适当加分。"),
    ("项目工期能否适当延长？",
     "工期原则上为{months}个月，确因业主原因导致延误的可顺延；方案中可提出分阶段上线的建议。"),
)

_DOMAIN_QA: dict[str, tuple[tuple[str, str], ...]] = {
    "software": (
        ("移动端是否需要同时上架“渝快办”和独立小程序？", "以“渝快办”入口为主，独立小程序不作强制要求，但页面须按统一规范开发。"),
        ("流程引擎是否允许使用揭榜方已有的商业产品？", "允许，但须提供永久授权并保证后续业主可自行配置流程，不得按用户数另行收费。"),
        ("{obj}的历史数据需要迁移多少年？", "需要迁移近{3-10}年的数据，更早的数据以归档方式保存即可。"),
    ),
    "ic_design": (
        ("样片流片费用是否包含在预算内？", "包含不超过{1-2}轮工程流片费用，超出部分由揭榜方承担。"),
        ("整机验证由哪方负责？", "业主单位提供{obj}相关测试台架和整机样品，揭榜方负责芯片侧测试和问题定位。"),
        ("是否要求通过AEC-Q100认证后再交付？", "车规场景要求在小批量导入前取得AEC-Q100可靠性测试报告，工程样片阶段可先提供内部测试结果。"),
    ),
    "industrial_design": (
        ("设计方案的知识产权归属如何约定？", "最终选定方案的外观设计专利申请权归业主单位，未选用方案归揭榜方所有。"),
        ("是否需要提供实物样机？", "本场景只需提供手板模型{1-2}套，量产样机不在建设边界内。"),
        ("用户研究的对象由谁组织？", "业主单位协助组织不少于{10-30}名真实用户参与访谈和测试，揭榜方负责方案设计和记录分析。"),
    ),
    "infosec": (
        ("是否允许在生产环境开展渗透测试？", "允许，但须提前提交测试方案并经业主书面批准，测试时间安排在业务低峰期。"),
        ("安全设备是否要求与现有态势感知平台对接？", "要求。告警和日志须按现有平台接口规范推送，具体格式在联调阶段确认。"),
        ("是否需要同步开展商用密码应用安全性评估？", "密评由业主另行委托测评机构开展，揭榜方须配合完成密码应用方案编制和整改。"),
    ),
    "ai": (
        ("训练数据由谁标注？", "业主提供原始数据和标注规范，揭榜方负责标注并承担费用，业主抽检比例不低于{5-10}%。"),
        ("推理服务器是否由业主提供？", "业主提供国产GPU服务器{1-4}台，揭榜方须在该算力条件下满足性能指标。"),
        ("识别准确率按什么口径测试？", "以业主随机抽取的{1000-5000}条真实样本作为测试集，由业主和揭榜方共同确认结果。"),
        ("是否允许调用外部大模型API？", "不允许。数据不得出本单位网络，模型须私有化部署。"),
    ),
    "industrial_internet": (
        ("现有设备能否开放PLC数据读取权限？", "大部分设备支持，少量老旧设备需加装采集模块，费用包含在本场景预算内。"),
        ("MES是否需要与现有ERP双向集成？", "需要。工单下发和完工回报须与ERP双向同步，接口方式在需求调研阶段确定。"),
        ("改造期间能否停产调试？", "不能整线停产，可利用周末或换型时间调试，单次停机不超过{2-4}小时。"),
    ),
    "iot_embedded": (
        ("监测终端的安装点位由谁确定？", "业主提供初步点位清单约{100-800}处，揭榜方现场踏勘后提出优化建议，最终由业主确认。"),
        ("终端通信资费由谁承担？", "质保期内的通信资费由揭榜方承担，期满后由业主承担。"),
        ("是否需要接入全市统一的物联感知平台？", "需要。设备数据须按统一物联感知接入标准接入，同时推送至业务平台。"),
    ),
    "it_services": (
        ("运维人员是否需要全部驻场？", "要求驻场{2-6}人，其余人员可远程支持，重大保障期间须按要求增派人员。"),
        ("迁移割接窗口如何安排？", "割接安排在夜间或节假日，每次割接须提前{3-7}天提交方案并进行演练。"),
        ("现有服务商的交接由谁协调？", "由业主单位协调原服务商配合交接，交接期不少于{2-4}周。"),
    ),
    "digital_content": (
        ("文物或场馆资料的拍摄采集时间如何安排？", "采集安排在闭馆时段，须遵守文物保护要求，每批次采集方案须经业主审核。"),
        ("数字内容的版权归谁？", "本场景制作的数字内容版权归业主单位，揭榜方可在征得同意后用于案例展示。"),
        ("是否需要提供大屏等显示硬件？", "不需要，硬件由业主另行采购，揭榜方须按业主提供的屏幕参数适配内容。"),
    ),
    "data_services": (
        ("数据治理涉及多少个源系统？", "初步梳理涉及{10-40}个源系统，详细清单在需求调研阶段提供。"),
        ("数据能否拷贝到揭榜方环境中处理？", "不能。所有数据处理须在业主指定的环境中完成，严禁导出原始数据。"),
        ("指标口径由谁确认？", "由业主业务部门牵头确认，揭榜方负责梳理口径差异并提出统一建议。"),
    ),
    "internet_platform": (
        ("平台运营是否由揭榜方负责？", "建设期内揭榜方需提供{6-12}个月运营支持，之后由业主或其指定的运营主体负责。"),
        ("在线支付通道由哪方申请？", "支付通道以业主或运营主体名义申请，揭榜方负责技术对接。"),
        ("是否要求与社会信用信息平台对接？", "要求。用户信用信息须按接口规范与社会信用信息平台对接。"),
    ),
    "emerging_tech": (
        ("区块链底层是否指定产品？", "不指定，但须采用国产自主可控底层并已完成网信部门区块链信息服务备案。"),
        ("试点范围能否调整？", "试点范围原则上按建设边界执行，确需调整的须经业主书面同意。"),
        ("空间数据是否由业主提供？", "业主提供现有的基础地理和{obj}相关数据，数据使用须遵守保密和测绘管理规定。"),
    ),
}

_Q_LEADS = ("", "", "请问", "想确认一下：", "关于“{title}”，", "您好，")
_A_LEADS = ("", "", "您好，", "经业主单位确认，", "答复如下：", "感谢关注。")


def _question(rng: random.Random, template: str, ctx: dict[str, str]) -> str:
    lead = fill(rng, rng.choice(_Q_LEADS), ctx)
    text = fill(rng, template, ctx)
    if lead == "请问" and text.startswith("本项目"):
        text = text[3:]
    return lead + text


def questions_and_answers(rng: random.Random, scenario: dict, k: int) -> list[tuple[str, str]]:
    """``k`` clarification questions from firms with the owner's answers, tailored to the scenario's domain."""
    ctx = _context(rng, scenario)
    domain_pool = list(_DOMAIN_QA.get(scenario.get("domain", ""), ()))
    generic_pool = list(_GENERIC_QA)
    rng.shuffle(domain_pool)
    rng.shuffle(generic_pool)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < k and (domain_pool or generic_pool):
        use_domain = domain_pool and (not generic_pool or rng.random() < 0.5)
        q, a = (domain_pool if use_domain else generic_pool).pop()
        pairs.append((_question(rng, q, ctx), fill(rng, rng.choice(_A_LEADS), ctx) + fill(rng, a, ctx)))
    return pairs


# ---------------------------------------------------------------------------
# Applications (揭榜申请)
# ---------------------------------------------------------------------------

_ROLES: dict[str, tuple[str, ...]] = {
    "software": ("系统架构师", "后端开发工程师", "前端开发工程师", "测试工程师", "实施工程师"),
    "ic_design": ("芯片架构师", "数字前端设计工程师", "模拟电路设计工程师", "验证工程师", "应用工程师"),
    "industrial_design": ("设计总监", "造型设计师", "CMF设计师", "人机工程师", "结构工程师"),
    "infosec": ("安全架构师", "渗透测试工程师", "安全运营工程师", "密码应用工程师", "安全服务工程师"),
    "ai": ("算法负责人", "计算机视觉算法工程师", "大模型应用工程师", "数据标注主管", "模型部署工程师"),
    "industrial_internet": ("工业软件架构师", "设备联网工程师", "MES实施顾问", "数据分析工程师", "现场实施工程师"),
    "iot_embedded": ("嵌入式软件工程师", "硬件工程师", "物联网平台工程师", "现场安装调试主管", "测试工程师"),
    "it_services": ("运维经理", "系统工程师", "网络工程师", "数据库管理员", "驻场运维工程师"),
    "digital_content": ("创意总监", "三维建模师", "交互开发工程师", "影视后期制作", "内容策划"),
    "data_services": ("数据架构师", "数据治理顾问", "数据开发工程师", "BI分析师", "数据质量工程师"),
    "internet_platform": ("产品经理", "后端开发工程师", "小程序开发工程师", "运营经理", "测试工程师"),
    "emerging_tech": ("技术总监", "GIS开发工程师", "区块链开发工程师", "无人机飞控工程师", "三维引擎工程师"),
}

_RESPONSES = (
    "我方将在方案设计阶段完成专项设计，并在初验前提交测试报告",
    "已有成熟组件可直接复用，联调阶段即可验证",
    "拟安排专人负责，在第{1-3}个月完成验证并形成书面记录",
    "我方同类项目中已实现该要求，将提供既有测试报告作为佐证",
    "方案中单列了实施步骤和验证方法，由技术负责人把关",
)

_MILESTONE_NAMES = (
    ("需求调研与方案确认", 0.12), ("详细设计评审", 0.25), ("核心功能开发", 0.5), ("系统联调与数据迁移", 0.65),
    ("上线试运行", 0.75), ("初验", 0.85), ("终验与移交", 1.0),
)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _firm_domain(firm: dict, scenario: dict) -> str:
    domains = firm.get("domains") or []
    if scenario.get("domain") in domains:
        return scenario["domain"]
    return domains[0] if domains else scenario.get("domain", "software")


def application_texts(rng: random.Random, scenario: dict, firm: dict) -> dict:
    """A 揭榜 application by ``firm`` for ``scenario``.

    Returns ``summary``, ``approach``, ``team`` (3–6 dicts: ``name``, ``role``,
    ``specialty``), ``price_wan`` (70–105% of the budget, two decimals), ``plan`` and
    ``milestones`` (list of (title, month_offset)).
    """
    ctx = _context(rng, scenario)
    months = int(ctx["months"])
    short = firm.get("short_name") or firm.get("name", "我方")
    tags = list(firm.get("tags") or ["软件开发"])
    domain = _firm_domain(firm, scenario)
    t1 = rng.choice(tags)
    t2 = rng.choice([t for t in tags if t != t1] or tags)
    product = rng.choice(PROFILES[domain]["products"])
    budget = Decimal(str(scenario.get("budget_wan") or "100"))
    price = budget * Decimal(str(round(rng.uniform(0.70, 1.05), 4)))
    cases = firm.get("cases") or []
    case = rng.choice(cases)["title"] if cases else None

    summary = rng.choice((
        f"{short}申请揭榜“{ctx['title']}”，以自有{product}为基础，结合{t1}和{t2}能力，计划{months}个月内完成建设。",
        f"我方拟依托{t1}技术和{product}承担“{ctx['title']}”，报价{_money(price)}万元，工期{months}个月。",
        f"{short}在{t1}方向具备成熟产品和本地交付团队，拟围绕{ctx['obj']}提供整体解决方案。",
    ))

    sentences = [rng.choice((
        f"总体上采用“平台+应用”的架构，以{product}为底座，运用{t1}、{t2}等技术实现{ctx['obj']}相关功能",
        f"方案以{t1}为核心技术路线，辅以{t2}，分层建设数据接入、业务应用和展示服务",
        f"我方将基于{product}进行定制开发，重点解决{ctx['obj']}管理中的痛点",
    ))]
    reqs = _items(scenario.get("requirements"))
    for req in rng.sample(reqs, min(len(reqs), rng.randint(1, 2))):
        head = req.split("，")[0]
        sentences.append(f"针对“{head}”的要求，{fill(rng, rng.choice(_RESPONSES), ctx)}")
    if case:
        sentences.append(rng.choice((
            f"我方在{case}项目中沉淀的组件和实施经验可直接复用，降低交付风险",
            f"参照已完成的{case}项目经验，我方对同类业务的难点已有充分准备",
        )))
    accepts = _items(scenario.get("acceptance"))
    if accepts:
        sentences.append(f"验收方面，我方承诺{rng.choice(accepts)}，并提供阶段性测试报告")
    district = DISTRICTS.get(firm.get("district", ""), "重庆")
    if rng.random() < 0.7:
        sentences.append(f"项目由{district}本地团队负责实施，与{ctx['sys']}的对接将在第{max(1, months // 3)}个月前完成联调")
    approach = "。".join(sentences[:6]) + "。"

    roles = _ROLES.get(domain, _ROLES["software"])
    team = [{"name": person_name(rng), "role": "项目经理",
             "specialty": f"{rng.randint(8, 18)}年{rng.choice(PROFILES[domain]['industries'])}行业项目管理经验，持PMP证书"}]
    for role in rng.sample(roles, rng.randint(2, 5)):
        team.append({"name": person_name(rng), "role": role,
                     "specialty": f"{rng.choice(tags)}，{rng.randint(3, 15)}年相关经验"})

    milestones = []
    last = 0
    for name, share in _MILESTONE_NAMES:
        if share < 1.0 and rng.random() < 0.25:
            continue
        offset = max(last + (1 if last else 0), round(months * share), 1)
        offset = min(offset, months)
        if milestones and offset <= milestones[-1][1]:
            continue
        milestones.append((name, offset))
        last = offset
    if milestones[-1][1] != months:
        milestones.append(("终验与移交", months))
    plan = "；".join(
        f"第{m}个月{'内' if i == 0 else ''}完成{name}" for i, (name, m) in enumerate(milestones)
    ) + f"。项目组实行周报和月度例会制度，关键节点提前{rng.randint(3, 10)}个工作日提交成果供业主审查。"

    return {
        "summary": summary,
        "approach": approach,
        "team": team,
        "price_wan": _money(price),
        "plan": plan,
        "milestones": milestones,
    }


# ---------------------------------------------------------------------------
# Demonstration projects (示范项目)
# ---------------------------------------------------------------------------

_HIGHLIGHTS = (
    "全栈采用国产软硬件，完成{cpu}服务器与国产数据库的适配",
    "业主与{short}联合编制{obj}相关地方标准或团体标准{1-2}项",
    "成果已在{2-9}个区县或单位复制推广",
    "项目申请软件著作权{2-8}项、发明专利{1-3}项",
    "从揭榜到上线仅用{3-9}个月，创造了同类项目较快的交付纪录",
    "入选重庆市本地优秀软件和应用示范项目",
    "采用{tag}技术，在{obj}场景下属全市首批应用",
    "建立了业主、企业和高校协同的持续迭代机制",
)


def _measured(template: str) -> str:
    """Give percentages and ratios one decimal, as measured results have ('18.6%')."""
    return re.sub(r"\{(\d+)-(\d+)\}(%|个百分点|倍)", r"{\1.0-\2.0}\3", template)


def demonstration_texts(rng: random.Random, scenario: dict, firm: dict) -> dict:
    """A demonstration-project write-up: ``problem``, ``solution``, ``outcomes`` (with figures), ``highlights``."""
    ctx = _context(rng, scenario)
    domain = scenario.get("domain", "software")
    pool = POOLS.get(domain, POOLS["software"])
    short = firm.get("short_name") or firm.get("name", "揭榜企业")
    tags = list(firm.get("tags") or ["软件开发"])
    ctx = {**ctx, "short": short, "tag": rng.choice(tags), "cpu": rng.choice(("鲲鹏", "海光", "飞腾"))}

    state = fill(rng, rng.choice(pool["state"]), ctx)
    p1, p2 = rng.sample(pool["pains"], 2)
    problem = f"{state}，{p1}、{p2}等问题突出。" + rng.choice((
        f"业主单位希望借助本地软件企业的力量，系统解决{ctx['obj']}管理难题。",
        "相关问题多次被基层和群众反映，亟需数字化手段破解。",
        f"“{ctx['title']}”因此被列入应用场景清单公开揭榜。",
    ))

    scope = _items(scenario.get("boundary"))[:3]
    solution_parts = [rng.choice((
        f"{short}揭榜后，以{'、'.join(tags[:3])}等技术为支撑，建设了{ctx['title'].split('（')[0]}",
        f"{short}采用{ctx['tag']}技术路线，在{ctx['months']}个月内完成了建设和上线",
    ))]
    if scope:
        solution_parts.append("主要内容包括" + "；".join(scope))
    solution_parts.append(rng.choice((
        f"系统与{ctx['sys']}实现对接，形成了数据采集、分析、处置的闭环",
        "建设过程中采用敏捷迭代方式，每两周向业主演示一次阶段成果",
        "项目实施期间业主业务骨干全程参与需求确认和测试",
    )))
    solution = "。".join(solution_parts) + "。"

    results = [fill(rng, _measured(r), ctx) for r in rng.sample(pool["results"], min(3, len(pool["results"])))]
    outcomes = rng.choice(("项目上线运行以来，", "经第三方评估，", "据业主统计，", "")) + "；".join(results) + "。"
    highlights = "；".join(fill(rng, h, ctx) for h in rng.sample(_HIGHLIGHTS, rng.randint(2, 3))) + "。"
    return {"problem": problem, "solution": solution, "outcomes": outcomes, "highlights": highlights}
