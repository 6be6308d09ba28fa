"""Reference tables, personal names, 统一社会信用代码 and owner organisations.

The base of the demo corpus: ``corpus_firms`` and ``corpus_scenarios`` import from
here, and ``corpus`` re-exports the public names.  Organisation names are those of
real Chongqing departments and groups so that the demo reads naturally; every
code, contact and figure attached to them is fictitious.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

# ---------------------------------------------------------------------------
# Reference data (codes shared with the models and the seed command)
# ---------------------------------------------------------------------------

DISTRICTS: dict[str, str] = {
    "yuzhong": "渝中区",
    "dadukou": "大渡口区",
    "jiangbei": "江北区",
    "shapingba": "沙坪坝区",
    "jiulongpo": "九龙坡区",
    "nanan": "南岸区",
    "beibei": "北碚区",
    "yubei": "渝北区",
    "banan": "巴南区",
    "liangjiang": "两江新区",
    "gaoxin": "重庆高新区",
    "other": "其他区县",
}

DOMAINS: dict[str, str] = {
    "software": "软件开发",
    "ic_design": "集成电路设计",
    "industrial_design": "工业设计",
    "infosec": "信息安全",
    "ai": "人工智能",
    "industrial_internet": "工业互联网",
    "iot_embedded": "物联网和嵌入式软件",
    "it_services": "信息技术服务",
    "digital_content": "数字内容服务",
    "data_services": "数据服务",
    "internet_platform": "互联网平台服务",
    "emerging_tech": "新兴技术服务",
}

THEMES: dict[str, str] = {"smart_manufacturing": "智造重镇", "smart_city": "智慧名城"}

ORG_KINDS: dict[str, str] = {
    "government": "政府部门",
    "soe": "国有企业",
    "key_industry": "重点行业单位",
    "software_enterprise": "软件企业",
    "district_office": "区县主管部门",
    "city_office": "市级主管部门",
}

FUNDING_SOURCES: dict[str, str] = {
    "fiscal": "财政资金",
    "soe_own": "国有企业自有资金",
    "social": "社会资本",
    "mixed": "混合",
}

QUALIFICATIONS: dict[str, str] = {
    "key_software": "国家鼓励的重点软件企业",
    "little_giant": '专精特新"小巨人"',
    "city_key_software": "市级重点软件和信息服务企业",
    "city_specialised": '市级"专精特新"中小企业',
    "cmmi": "CMMI",
    "iso27001": "ISO/IEC 27001信息安全管理体系认证",
    "other": "其他资质",
}

#: Administrative-division codes (GB/T 2260) used in positions 3–8 of a USCC.
#: 两江新区 and 重庆高新区 are functional areas without their own code: firms there
#: are registered with the city or with the district the land belongs to.
REGION_CODES: dict[str, tuple[str, ...]] = {
    "yuzhong": ("500103",),
    "dadukou": ("500104",),
    "jiangbei": ("500105",),
    "shapingba": ("500106",),
    "jiulongpo": ("500107",),
    "nanan": ("500108",),
    "beibei": ("500109",),
    "yubei": ("500112",),
    "banan": ("500113",),
    "liangjiang": ("500000", "500112", "500105", "500109"),
    "gaoxin": ("500107", "500106", "500000"),
    "other": ("500101", "500102", "500110", "500115", "500116", "500117", "500118", "500120", "500151"),
}

# ---------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015) and 组织机构代码 (GB 11714-1997)
# ---------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character of a 统一社会信用代码 per GB 32100-2015.

    Each of the first 17 characters is valued by its index in the 31-character
    alphabet (digits, then capital letters without I, O, S, V, Z), weighted by
    ``3**(i) mod 31``; the check value is ``31 - sum mod 31`` (31 becomes 0).
    """
    if len(first17) != 17:
        raise ValueError("a USCC body has exactly 17 characters")
    try:
        total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17.upper(), _USCC_WEIGHTS, strict=True))
    except ValueError:
        raise ValueError(f"invalid character in USCC body {first17!r}")
    value = 31 - total % 31
    return "0" if value == 31 else USCC_ALPHABET[value]


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is 18 characters from the USCC alphabet with a correct check character."""
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def org_code_check_char(first8: str) -> str:
    """The check character of a 9-character 组织机构代码 per GB 11714-1997.

    Digits count at face value and letters A–Z as 10–35; weights 3,7,9,10,5,8,4,2;
    check = 11 - sum mod 11, written 'X' for 10 and '0' for 11.
    """
    total = 0
    for ch, w in zip(first8, _ORG_CODE_WEIGHTS, strict=True):
        total += (int(ch) if ch.isdigit() else ord(ch) - 55) * w
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


_MA_SERIES = ("5U", "5U", "5Y", "60", "61", "62", "5X")
_MA_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(rng: random.Random, prefix: str = "91", region: str = "500000", modern: bool | None = None) -> str:
    """A valid 18-character 统一社会信用代码.

    ``prefix`` is the registration authority and category ('91' enterprise, '11'
    government organ, '12' public institution); ``region`` a 6-digit division code
    (Chongqing: 500000 city, 500103 渝中, 500112 渝北 …).  Enterprises registered
    since 2015 usually carry an 'MA…' organisation part; ``modern`` forces or
    forbids that form (default: random for enterprises, numeric for the others).
    """
    if len(prefix) != 2 or len(region) != 6:
        raise ValueError("prefix has 2 characters and region 6 digits")
    if modern is None:
        modern = prefix.startswith("9") and rng.random() < 0.6
    if modern:
        body = "MA" + rng.choice(_MA_SERIES) + "".join(rng.choice(_MA_CHARS) for _ in range(4))
    elif prefix in ("11", "12"):
        body = ("00" if prefix == "11" else "45") + "".join(rng.choice("0123456789") for _ in range(6))
    else:
        body = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(7))
    org_code = body + org_code_check_char(body)
    first17 = prefix + region + org_code
    return first17 + uscc_check_char(first17)


def region_code(rng: random.Random, district: str) -> str:
    """A plausible administrative-division code for an entity registered in ``district``."""
    return rng.choice(REGION_CODES.get(district, ("500000",)))


# ---------------------------------------------------------------------------
# Personal names, phones and e-mail addresses
# ---------------------------------------------------------------------------

# (surname, pinyin, relative frequency); the Chongqing-typical 谭 冉 向 秦 牟 are weighted up.
_SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 30), ("李", "li", 30), ("张", "zhang", 26), ("刘", "liu", 28), ("陈", "chen", 26),
    ("杨", "yang", 18), ("黄", "huang", 14), ("赵", "zhao", 10), ("吴", "wu", 10), ("周", "zhou", 14),
    ("徐", "xu", 8), ("孙", "sun", 6), ("马", "ma", 6), ("朱", "zhu", 6), ("胡", "hu", 8),
    ("郭", "guo", 6), ("何", "he", 10), ("高", "gao", 6), ("林", "lin", 5), ("罗", "luo", 12),
    ("郑", "zheng", 5), ("梁", "liang", 5), ("谢", "xie", 7), ("宋", "song", 5), ("唐", "tang", 10),
    ("许", "xu", 4), ("韩", "han", 4), ("冯", "feng", 5), ("邓", "deng", 10), ("曹", "cao", 4),
    ("彭", "peng", 7), ("曾", "zeng", 6), ("肖", "xiao", 6), ("田", "tian", 5), ("董", "dong", 4),
    ("袁", "yuan", 6), ("潘", "pan", 3), ("蒋", "jiang", 5), ("蔡", "cai", 3), ("余", "yu", 6),
    ("杜", "du", 4), ("叶", "ye", 3), ("程", "cheng", 4), ("苏", "su", 3), ("魏", "wei", 3),
    ("吕", "lv", 3), ("丁", "ding", 3), ("任", "ren", 4), ("沈", "shen", 2), ("姚", "yao", 3),
    ("卢", "lu", 3), ("钟", "zhong", 4), ("谭", "tan", 9), ("陆", "lu", 2), ("范", "fan", 3),
    ("廖", "liao", 5), ("夏", "xia", 3), ("付", "fu", 4), ("方", "fang", 2), ("熊", "xiong", 4),
    ("秦", "qin", 5), ("冉", "ran", 5), ("向", "xiang", 6), ("牟", "mou", 3), ("陶", "tao", 3),
    ("黎", "li", 2), ("贺", "he", 3), ("龚", "gong", 3), ("文", "wen", 3), ("游", "you", 2),
    ("雷", "lei", 3), ("邹", "zou", 3), ("蒲", "pu", 2), ("傅", "fu", 2), ("代", "dai", 3),
)
_SURNAME_WEIGHTS = tuple(w for _, _, w in _SURNAMES)

_MALE_CHARS: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("斌", "bin"), ("超", "chao"), ("明", "ming"), ("刚", "gang"), ("平", "ping"),
    ("辉", "hui"), ("鹏", "peng"), ("华", "hua"), ("飞", "fei"), ("鑫", "xin"), ("波", "bo"),
    ("宇", "yu"), ("浩", "hao"), ("凯", "kai"), ("健", "jian"), ("俊", "jun"), ("帆", "fan"),
    ("旭", "xu"), ("宁", "ning"), ("龙", "long"), ("阳", "yang"), ("峰", "feng"), ("建", "jian"),
    ("成", "cheng"), ("志", "zhi"), ("文", "wen"), ("海", "hai"), ("东", "dong"), ("毅", "yi"),
    ("博", "bo"), ("锐", "rui"), ("晨", "chen"), ("睿", "rui"), ("川", "chuan"), ("渝", "yu"),
    ("航", "hang"), ("泽", "ze"), ("然", "ran"), ("翔", "xiang"), ("嘉", "jia"), ("庆", "qing"),
    ("国", "guo"), ("德", "de"), ("亮", "liang"), ("林", "lin"), ("松", "song"), ("坤", "kun"),
)
_FEMALE_CHARS: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("燕", "yan"), ("玲", "ling"), ("婷", "ting"), ("雪", "xue"),
    ("琳", "lin"), ("倩", "qian"), ("颖", "ying"), ("洁", "jie"), ("蕾", "lei"), ("瑶", "yao"),
    ("欣", "xin"), ("悦", "yue"), ("佳", "jia"), ("慧", "hui"), ("梅", "mei"), ("莉", "li"),
    ("萍", "ping"), ("红", "hong"), ("晶", "jing"), ("璐", "lu"), ("琴", "qin"), ("岚", "lan"),
    ("蓉", "rong"), ("露", "lu"), ("珊", "shan"), ("薇", "wei"), ("楠", "nan"), ("思", "si"),
    ("雨", "yu"), ("月", "yue"), ("秋", "qiu"), ("媛", "yuan"), ("妍", "yan"), ("曦", "xi"),
    ("诗", "shi"), ("雯", "wen"), ("丹", "dan"), ("晓", "xiao"), ("春", "chun"), ("小", "xiao"),
)


def _person(rng: random.Random) -> tuple[str, str]:
    """A (Chinese name, ascii e-mail local part) pair such as ('谭晓燕', 'tan.xiaoyan')."""
    surname, surname_py, _ = rng.choices(_SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    pool = _MALE_CHARS if rng.random() < 0.55 else _FEMALE_CHARS
    if rng.random() < 0.3:
        chars = [rng.choice(pool)]
    else:
        first = rng.choice(pool)
        second = rng.choice(pool)
        while second == first and (pool is _MALE_CHARS or rng.random() < 0.8):
            second = rng.choice(pool)
        chars = [first, second]
    name = surname + "".join(c for c, _ in chars)
    return name, surname_py + "." + "".join(p for _, p in chars)


def person_name(rng: random.Random) -> str:
    """A realistic Chinese personal name: a common surname and a one- or two-character given name."""
    return _person(rng)[0]


_LANDLINE_HEADS = ("6", "6", "6", "8", "8", "4")
_MOBILE_HEADS = (
    "133", "135", "136", "138", "139", "150", "151", "152", "158", "159", "177", "180",
    "182", "183", "185", "186", "187", "189", "191", "199", "173", "176",
)


def landline(rng: random.Random) -> str:
    """A Chongqing landline number such as 023-63891274."""
    return "023-" + rng.choice(_LANDLINE_HEADS) + "".join(rng.choice("0123456789") for _ in range(7))


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(_MOBILE_HEADS) + "".join(rng.choice("0123456789") for _ in range(8))


def contact(rng: random.Random, mail_domain: str, used: set[str] | None = None, landline_share: float = 0.5) -> dict:
    """A contact person: ``name``, ``phone`` and a unique ascii ``email`` at ``mail_domain``."""
    name, local = _person(rng)
    email = f"{local}@{mail_domain}"
    if used is not None:
        n = 2
        while email in used:
            email = f"{local}{n}@{mail_domain}"
            n += 1
        used.add(email)
    phone = landline(rng) if rng.random() < landline_share else mobile(rng)
    return {"name": name, "phone": phone, "email": email}


# ---------------------------------------------------------------------------
# Owner organisations (发榜单位)
# ---------------------------------------------------------------------------

# (name, short name, kind, level, district, mail slug, sectors, USCC prefix, region or None)
# Sectors pair scenarios with a fitting owner: see ``corpus_scenarios``.
_ORGS: tuple[tuple[str, str, str, str, str, str, tuple[str, ...], str, str | None], ...] = (
    # —— city-level government departments ——
    ("重庆市经济和信息化委员会", "市经济信息委", "government", "city", "yubei", "jxw", ("economy", "manufacturing"), "11", "500000"),
    ("重庆市大数据应用发展管理局", "市大数据发展局", "government", "city", "yubei", "dsjj", ("bigdata", "economy"), "11", "500000"),
    ("重庆市交通运输委员会", "市交通运输委", "government", "city", "yubei", "jtw", ("transport", "highway"), "11", "500000"),
    ("重庆市卫生健康委员会", "市卫生健康委", "government", "city", "yuzhong", "wsjkw", ("health", "hospital"), "11", "500000"),
    ("重庆市教育委员会", "市教委", "government", "city", "yuzhong", "jw", ("education",), "11", "500000"),
    ("重庆市生态环境局", "市生态环境局", "government", "city", "yubei", "sthjj", ("ecology",), "11", "500000"),
    ("重庆市城市管理局", "市城市管理局", "government", "city", "yubei", "csglj", ("urban",), "11", "500000"),
    ("重庆市住房和城乡建设委员会", "市住房城乡建委", "government", "city", "yubei", "zfcxjw", ("housing", "urban"), "11", "500000"),
    ("重庆市规划和自然资源局", "市规划自然资源局", "government", "city", "yubei", "ghzrzyj", ("planning",), "11", "500000"),
    ("重庆市水利局", "市水利局", "government", "city", "jiangbei", "slj", ("water",), "11", "500000"),
    ("重庆市应急管理局", "市应急管理局", "government", "city", "yubei", "yjglj", ("emergency",), "11", "500000"),
    ("重庆市市场监督管理局", "市市场监管局", "government", "city", "jiangbei", "scjgj", ("market",), "11", "500000"),
    ("重庆市文化和旅游发展委员会", "市文化旅游委", "government", "city", "yuzhong", "whlyw", ("culture",), "11", "500000"),
    ("重庆市农业农村委员会", "市农业农村委", "government", "city", "jiangbei", "nyncw", ("agriculture",), "11", "500000"),
    ("重庆市民政局", "市民政局", "government", "city", "yuzhong", "mzj", ("civil",), "11", "500000"),
    ("重庆市人力资源和社会保障局", "市人力社保局", "government", "city", "yubei", "rlsbj", ("hr",), "11", "500000"),
    ("重庆市医疗保障局", "市医保局", "government", "city", "yubei", "ybj", ("medical_insurance",), "11", "500000"),
    ("重庆市商务委员会", "市商务委", "government", "city", "yuzhong", "swz", ("commerce",), "11", "500000"),
    # —— district-level government departments ——
    ("渝中区城市管理局", "渝中区城管局", "government", "district", "yuzhong", "yzcgj", ("urban",), "11", "500103"),
    ("渝中区卫生健康委员会", "渝中区卫生健康委", "government", "district", "yuzhong", "yzwjw", ("health", "hospital"), "11", "500103"),
    ("大渡口区经济和信息化委员会", "大渡口区经济信息委", "government", "district", "dadukou", "ddkjxw", ("economy", "manufacturing"), "11", "500104"),
    ("大渡口区应急管理局", "大渡口区应急局", "government", "district", "dadukou", "ddkyjj", ("emergency",), "11", "500104"),
    ("江北区住房和城乡建设委员会", "江北区住房城乡建委", "government", "district", "jiangbei", "jbzjw", ("housing", "urban"), "11", "500105"),
    ("江北区教育委员会", "江北区教委", "government", "district", "jiangbei", "jbjw", ("education",), "11", "500105"),
    ("沙坪坝区交通局", "沙坪坝区交通局", "government", "district", "shapingba", "spbjtj", ("transport",), "11", "500106"),
    ("沙坪坝区大数据应用发展管理局", "沙坪坝区大数据发展局", "government", "district", "shapingba", "spbdsj", ("bigdata",), "11", "500106"),
    ("九龙坡区生态环境局", "九龙坡区生态环境局", "government", "district", "jiulongpo", "jlpsthj", ("ecology",), "11", "500107"),
    ("九龙坡区市场监督管理局", "九龙坡区市场监管局", "government", "district", "jiulongpo", "jlpscjg", ("market",), "11", "500107"),
    ("南岸区城市管理局", "南岸区城管局", "government", "district", "nanan", "nacgj", ("urban",), "11", "500108"),
    ("南岸区民政局", "南岸区民政局", "government", "district", "nanan", "namzj", ("civil",), "11", "500108"),
    ("北碚区水利局", "北碚区水利局", "government", "district", "beibei", "bbslj", ("water",), "11", "500109"),
    ("北碚区文化和旅游发展委员会", "北碚区文化旅游委", "government", "district", "beibei", "bbwlw", ("culture",), "11", "500109"),
    ("渝北区交通局", "渝北区交通局", "government", "district", "yubei", "ybjtj", ("transport",), "11", "500112"),
    ("渝北区农业农村委员会", "渝北区农业农村委", "government", "district", "yubei", "ybnyw", ("agriculture",), "11", "500112"),
    ("巴南区应急管理局", "巴南区应急局", "government", "district", "banan", "bnyjj", ("emergency",), "11", "500113"),
    ("巴南区卫生健康委员会", "巴南区卫生健康委", "government", "district", "banan", "bnwjw", ("health", "hospital"), "11", "500113"),
    ("两江新区管理委员会", "两江新区管委会", "government", "district", "liangjiang", "ljxq", ("economy", "bigdata"), "11", "500000"),
    ("两江新区建设管理局", "两江新区建设局", "government", "district", "liangjiang", "ljjsj", ("housing", "urban"), "11", "500000"),
    ("重庆高新区管理委员会", "重庆高新区管委会", "government", "district", "gaoxin", "gxq", ("economy", "bigdata"), "11", "500000"),
    ("重庆高新区生态环境局", "高新区生态环境局", "government", "district", "gaoxin", "gxsthj", ("ecology",), "11", "500000"),
    ("永川区大数据应用发展管理局", "永川区大数据发展局", "government", "district", "other", "ycdsj", ("bigdata",), "11", "500118"),
    ("涪陵区经济和信息化委员会", "涪陵区经济信息委", "government", "district", "other", "fljxw", ("economy", "manufacturing"), "11", "500102"),
    ("合川区交通局", "合川区交通局", "government", "district", "other", "hcjtj", ("transport",), "11", "500117"),
    # —— state-owned enterprises ——
    ("重庆城市交通开发投资（集团）有限公司", "重庆交通开投集团", "soe", "city", "yubei", "cqjtkt", ("transport", "group"), "91", "500000"),
    ("重庆市轨道交通（集团）有限公司", "重庆轨道集团", "soe", "city", "yubei", "cqgdjt", ("transport", "rail", "group"), "91", "500000"),
    ("重庆水务集团股份有限公司", "重庆水务集团", "soe", "city", "yuzhong", "cqswjt", ("water", "group"), "91", "500000"),
    ("重庆机场集团有限公司", "重庆机场集团", "soe", "city", "yubei", "cqjcjt", ("airport", "transport", "group"), "91", "500000"),
    ("重庆燃气集团股份有限公司", "重庆燃气集团", "soe", "city", "jiangbei", "cqrqjt", ("energy", "group"), "91", "500000"),
    ("重庆港务物流集团有限公司", "重庆港务物流集团", "soe", "city", "jiangbei", "cqgwwl", ("logistics", "group"), "91", "500000"),
    ("重庆医药（集团）股份有限公司", "重庆医药集团", "soe", "city", "yuzhong", "cqyyjt", ("medicine", "group"), "91", "500000"),
    ("重庆机电控股（集团）公司", "重庆机电集团", "soe", "city", "liangjiang", "cqjdkg", ("manufacturing", "automotive", "group"), "91", "500000"),
    ("重庆建工集团股份有限公司", "重庆建工集团", "soe", "city", "liangjiang", "cqjgjt", ("housing", "construction", "group"), "91", "500000"),
    ("重庆高速公路集团有限公司", "重庆高速集团", "soe", "city", "yubei", "cqgsjt", ("transport", "highway", "group"), "91", "500000"),
    ("重庆市公共交通控股（集团）有限公司", "重庆公交集团", "soe", "city", "yubei", "cqgjjt", ("transport", "group"), "91", "500000"),
    ("重庆旅游投资集团有限公司", "重庆旅投集团", "soe", "city", "yuzhong", "cqltjt", ("culture", "group"), "91", "500000"),
    ("重庆两江新区开发投资集团有限公司", "两江新区开投集团", "soe", "district", "liangjiang", "ljkt", ("urban", "construction", "group"), "91", "500000"),
    ("重庆高新开发建设投资集团有限公司", "高新区开投集团", "soe", "district", "gaoxin", "gxkt", ("urban", "construction", "group"), "91", "500000"),
    ("重庆市沙坪坝区城市建设投资集团有限公司", "沙坪坝城投集团", "soe", "district", "shapingba", "spbct", ("urban", "construction", "group"), "91", "500106"),
    ("重庆钢铁股份有限公司", "重庆钢铁", "soe", "city", "other", "cqgt", ("manufacturing", "group"), "91", "500115"),
    ("重庆农村商业银行股份有限公司", "重庆农商行", "soe", "city", "jiangbei", "cqrcb", ("finance", "group"), "91", "500000"),
    ("重庆化医控股（集团）公司", "重庆化医集团", "soe", "city", "yubei", "cqhy", ("manufacturing", "medicine", "group"), "91", "500000"),
    # —— key-industry organisations (hospitals, universities, industry) ——
    ("重庆医科大学附属第一医院", "重医附一院", "key_industry", "city", "yuzhong", "cqmu1h", ("hospital",), "12", "500103"),
    ("重庆市人民医院", "市人民医院", "key_industry", "city", "yubei", "cqsrmyy", ("hospital",), "12", "500000"),
    ("重庆市急救医疗中心", "市急救医疗中心", "key_industry", "city", "yuzhong", "cqjjzx", ("hospital", "emergency"), "12", "500000"),
    ("重庆大学", "重庆大学", "key_industry", "city", "shapingba", "cqu", ("education",), "12", "500000"),
    ("重庆邮电大学", "重庆邮电大学", "key_industry", "city", "nanan", "cqupt", ("education",), "12", "500000"),
    ("西南大学", "西南大学", "key_industry", "city", "beibei", "swu", ("education", "agriculture"), "12", "500109"),
    ("国网重庆市电力公司", "国网重庆电力", "key_industry", "city", "yuzhong", "cqdl", ("energy", "group"), "91", "500000"),
    ("重庆长安汽车股份有限公司", "长安汽车", "key_industry", "city", "jiangbei", "changan", ("manufacturing", "automotive", "group"), "91", "500000"),
    ("重庆市九龙坡区人民医院", "九龙坡区人民医院", "key_industry", "district", "jiulongpo", "jlprmyy", ("hospital",), "12", "500107"),
    ("重庆市大渡口区人民医院", "大渡口区人民医院", "key_industry", "district", "dadukou", "ddkrmyy", ("hospital",), "12", "500104"),
    ("重庆巴南经济园区建设实业有限公司", "巴南经济园区", "key_industry", "district", "banan", "bnjjyq", ("economy", "manufacturing", "group"), "91", "500113"),
    ("重庆市北碚区中医院", "北碚区中医院", "key_industry", "district", "beibei", "bbzyy", ("hospital",), "12", "500109"),
    ("重庆市南岸区教育考试中心", "南岸区教育考试中心", "key_industry", "district", "nanan", "naks", ("education",), "12", "500108"),
)

OWNER_COUNT = len(_ORGS)
#: Owner name → the sectors it publishes scenarios in (matched with ``corpus_scenarios.SECTORS_BY_TOPIC``).
SECTORS_BY_OWNER: dict[str, tuple[str, ...]] = {row[0]: row[6] for row in _ORGS}


def _owner(rng: random.Random, row: tuple, used: set[str]) -> dict:
    name, short, kind, level, district, slug, sectors, prefix, region = row
    region = region or region_code(rng, district)
    if kind == "government" or prefix in ("11", "12"):
        uscc = make_uscc(rng, prefix=prefix, region=region, modern=False)
    else:
        uscc = make_uscc(rng, prefix="91", region=region, modern=False)
    mail_domain = f"{slug}.example.cq"
    count = 1 if rng.random() < 0.45 else 2
    contacts = [contact(rng, mail_domain, used, landline_share=0.75) for _ in range(count)]
    return {
        "name": name,
        "short_name": short,
        "kind": kind,
        "level": level,
        "district": district,
        "uscc": uscc,
        "sectors": list(sectors),
        "contacts": contacts,
    }


def owner_organisations(rng: random.Random, n: int = 48) -> list[dict]:
    """``n`` owner organisations (at most ``OWNER_COUNT``), covering all 12 districts.

    Each dict: ``name``, ``short_name``, ``kind`` ('government' | 'soe' | 'key_industry'),
    ``level`` ('city' | 'district'), ``district`` code, ``uscc``, ``sectors`` (list of
    sector keys used to pair scenarios) and ``contacts`` (1–2 dicts: ``name``,
    ``phone``, ``email``).  Government organs have '11' codes, public institutions
    (hospitals, universities) '12', enterprises '91'.
    """
    n = max(0, min(n, len(_ORGS)))
    indices = list(range(len(_ORGS)))
    rng.shuffle(indices)
    chosen: list[int] = []
    # One organisation from every district first, then a mix of kinds, then the rest.
    for district in DISTRICTS:
        for i in indices:
            if _ORGS[i][4] == district and i not in chosen:
                chosen.append(i)
                break
    for kind in ("government", "soe", "key_industry"):
        for i in indices:
            if _ORGS[i][2] == kind and i not in chosen:
                chosen.append(i)
                break
    chosen.extend(i for i in indices if i not in chosen)
    chosen = sorted(chosen[:n])
    used: set[str] = set()
    return [_owner(rng, _ORGS[i], used) for i in chosen]


def pick_weighted(rng: random.Random, items: Sequence, weights: Sequence[float]):
    """One item of ``items`` chosen with the given relative weights."""
    return rng.choices(items, weights=weights)[0]
