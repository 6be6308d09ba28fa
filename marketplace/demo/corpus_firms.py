"""Software firms (揭榜企业): names, locations, capability profiles and past cases.

Text is composed from per-domain phrase pools and several sentence patterns per
kind of statement, filled with the firm's own name, figures, technologies and
clients, so no sentence is shared by more than a few firms.
"""

from __future__ import annotations

import random
from datetime import date

from .corpus_orgs import (
    _ORGS,
    DISTRICTS,
    contact,
    make_uscc,
    pick_weighted,
    region_code,
)

# ---------------------------------------------------------------------------
# Per-domain profiles
# ---------------------------------------------------------------------------

# Each profile: name endings (full ending, short suffix), focus areas, products, the
# benefit a product brings, technology tags, industries served, past-case project
# names, case details (may hold {a-b} number ranges) and 经营范围 items.
PROFILES: dict[str, dict[str, tuple]] = {
    "software": {
        "endings": (("软件技术有限公司", "软件"), ("信息技术有限公司", "信息"), ("数字科技有限公司", "数科"),
                    ("软件有限公司", "软件"), ("数智科技有限公司", "数智")),
        "focus": ("政务业务系统定制开发", "低代码应用开发平台", "一网通办与审批流程再造", "国产化替代背景下的业务系统重构",
                  "移动端政务与企业服务应用", "建设行业BIM协同管理软件", "企业资源计划与协同办公软件", "GIS一张图应用开发"),
        "products": ("灵犀低代码开发平台", "政务审批流程引擎", "协同办公OA套件", "项目全过程管理系统", "移动服务统一门户",
                     "电子证照共享组件", "BIM+GIS协同管理平台", "合同与印章一体化管理系统"),
        "benefits": ("表单和流程配置效率较传统编码方式提升三倍以上", "可在两周内完成一个中等复杂度业务系统的上线",
                     "已在多个区县部门复用，二次开发量控制在三成以内", "支持多租户隔离，适合集团型客户统一部署",
                     "内置上百个业务组件，覆盖审批、考核、督办等常见场景", "可平滑迁移至国产数据库和中间件"),
        "tags": ("低代码", "微服务", "信创适配", "流程引擎", "电子签章", "移动应用", "小程序", "业务中台", "BIM", "GIS",
                 "Java", "Vue", "Spring Cloud", "鸿蒙"),
        "industries": ("政务", "建筑", "教育", "医疗卫生", "交通", "园区管理"),
        "cases": ("行政审批业务系统升级改造", "协同办公平台信创改造", "工程建设项目审批管理系统", "智慧园区综合管理平台",
                  "基层治理移动应用", "督查督办管理系统", "校园一卡通业务平台重构", "BIM设计审查辅助系统"),
        "details": ("梳理审批事项{40-160}项，实现线上全流程办理", "将原有{6-15}个分散系统整合为统一门户",
                    "支持{800-5000}名用户同时在线办公", "完成由Oracle向达梦数据库的迁移，业务中断时间不超过{4-8}小时",
                    "平均办件时长缩短{20-45}%", "上线移动端应用，月活跃用户超过{1-6}万人"),
        "scope": ("软件开发", "信息系统集成服务", "信息技术咨询服务", "软件销售", "计算机系统服务", "信息系统运行维护服务"),
    },
    "ic_design": {
        "endings": (("微电子有限公司", "微电子"), ("集成电路设计有限公司", "集成电路"), ("芯片科技有限公司", "芯片"),
                    ("半导体科技有限公司", "半导体"), ("芯科技有限公司", "芯科技")),
        "focus": ("车规级MCU与电源管理芯片设计", "高精度模拟前端芯片设计", "功率半导体驱动芯片设计", "物联网低功耗SoC设计",
                  "智能电表计量与载波通信芯片", "MEMS传感器信号调理芯片", "FPGA原型验证与IP核开发", "射频前端与北斗定位芯片"),
        "products": ("32位车规级MCU", "多通道隔离栅极驱动芯片", "低功耗蓝牙SoC", "电力线载波通信芯片", "高精度ADC芯片",
                     "北斗/GNSS多模定位芯片", "BMS电池采样芯片", "数模混合验证IP平台"),
        "benefits": ("已通过AEC-Q100 Grade 1可靠性认证", "待机功耗低于{2-9}微安", "在电表行业完成百万颗级量产导入",
                     "关键指标对标国际同类产品并实现引脚兼容替换", "流片良率稳定在{95-99}%以上", "配套开发板和参考设计，缩短客户导入周期"),
        "tags": ("SoC", "MCU", "车规级芯片", "模拟芯片", "数模混合", "功率器件", "FPGA", "射频芯片", "低功耗设计",
                 "芯片验证", "Verilog", "EDA", "国产化替代"),
        "industries": ("汽车电子", "智能电网", "消费电子", "工业控制", "物联网终端", "新能源"),
        "cases": ("车身控制器MCU国产化替代", "智能电表计量芯片定制", "电池管理系统采样芯片联合开发", "工业传感器信号调理ASIC",
                  "充电桩功率模块驱动芯片导入", "车载T-Box定位芯片适配", "FPGA加速卡原型验证", "智能门锁低功耗SoC方案"),
        "details": ("完成{2-4}轮工程样片流片与系统级验证", "累计出货超过{30-300}万颗", "替代进口型号后单板成本下降{12-30}%",
                    "通过{3-6}家整车厂的台架与路试验证", "芯片面积较上一代缩小{15-35}%", "配合客户完成EMC及高低温可靠性测试"),
        "scope": ("集成电路设计", "集成电路芯片设计及服务", "集成电路芯片及产品销售", "电子元器件批发", "半导体分立器件销售",
                  "技术进出口"),
    },
    "industrial_design": {
        "endings": (("工业设计有限公司", "工业设计"), ("产品设计有限公司", "设计"), ("创新设计有限公司", "创新设计"),
                    ("设计科技有限公司", "设计")),
        "focus": ("交通装备外观造型与CMF设计", "智能座舱人机交互设计", "医疗与康养器械工业设计", "摩托车及智能两轮车造型设计",
                  "智能家电产品创新设计", "工程机械驾驶室人机工程优化", "公共设施与城市家具设计", "产品结构设计与快速原型验证"),
        "products": ("座舱HMI设计规范库", "人机工程仿真评价体系", "CMF趋势数据库", "产品造型参数化设计工具",
                     "用户体验测试实验室", "虚拟样机评审系统"),
        "benefits": ("可将概念到样机的周期压缩至{6-12}周", "帮助客户减少实物样机制作{2-4}轮",
                     "建立了覆盖{2000-8000}组人体尺寸数据的评价模型", "设计方案多次获得国内外工业设计奖项",
                     "设计、结构、模具环节一体化衔接，降低量产变更风险", "可在评审阶段开展沉浸式虚拟评审"),
        "tags": ("工业设计", "CMF设计", "人机工程", "交互设计", "HMI设计", "结构设计", "三维建模", "虚拟仿真",
                 "快速原型", "用户研究", "智能座舱", "适老化设计"),
        "industries": ("汽车", "摩托车", "医疗器械", "智能家电", "轨道交通装备", "城市公共设施"),
        "cases": ("新能源车型座舱交互界面设计", "电动摩托车外观造型设计", "康复训练设备工业设计", "智能公交站亭标准化设计",
                  "工程机械驾驶室人机工程改进", "家用储能电源产品设计", "社区适老化服务终端设计", "轨道车辆内饰CMF方案"),
        "details": ("完成{3-6}轮用户访谈和可用性测试", "输出造型方案{4-9}套并完成A面数据", "产品上市后首年销量超过{2-9}万台",
                    "操作步骤减少{20-40}%，误操作率明显下降", "样机一次通过客户评审", "设计方案获评省部级工业设计奖"),
        "scope": ("工业设计服务", "专业设计服务", "工业工程设计服务", "平面设计", "模型设计", "3D打印服务"),
    },
    "infosec": {
        "endings": (("网络安全技术有限公司", "网安"), ("信息安全技术有限公司", "信安"), ("安全科技有限公司", "安全"),
                    ("网络科技有限公司", "网络")),
        "focus": ("网络安全等级保护测评与整改", "政务云安全运营服务", "数据安全治理与分类分级", "商用密码应用安全性评估",
                  "工业控制系统安全防护", "零信任访问控制体系建设", "实网攻防演练与渗透测试", "安全态势感知平台建设"),
        "products": ("网络安全态势感知平台", "数据分类分级工具", "零信任安全网关", "工控安全监测审计系统",
                     "API安全监测系统", "密码服务管理平台", "安全运营中心（SOC）服务", "终端数据防泄漏系统"),
        "benefits": ("日均处理安全日志超过{5-40}亿条", "可识别{60-200}类敏感数据字段", "告警降噪率达到{80-95}%",
                     "支持SM2/SM3/SM4国密算法全栈应用", "可对{30-120}种工控协议进行深度解析", "平均威胁处置时间控制在{15-60}分钟以内"),
        "tags": ("等保测评", "态势感知", "零信任", "数据安全", "商用密码", "密评", "渗透测试", "安全运营", "工控安全",
                 "攻防演练", "漏洞管理", "隐私计算", "SOC", "信创适配"),
        "industries": ("政务", "金融", "能源", "医疗卫生", "制造业", "教育"),
        "cases": ("政务外网安全态势感知平台", "数据安全分类分级治理", "商用密码应用改造", "工控网络安全防护改造",
                  "年度网络安全攻防演练保障", "医院信息系统等保三级整改", "零信任远程办公接入改造", "重要时期网络安全值守服务"),
        "details": ("接入安全设备{40-260}台，统一汇聚告警", "完成{100-900}余个信息系统资产的梳理与定级",
                    "发现并闭环高危漏洞{30-180}个", "在攻防演练中实现零失分防守", "对{8-40}个核心业务系统完成国密改造",
                    "形成数据资产目录，标注敏感字段{3000-20000}余个"),
        "scope": ("网络与信息安全软件开发", "信息安全设备销售", "信息系统集成服务", "安全技术防范系统设计施工服务",
                  "数据处理和存储支持服务", "商用密码产品销售"),
    },
    "ai": {
        "endings": (("人工智能科技有限公司", "人工智能"), ("智能科技有限公司", "智能"), ("智能技术有限公司", "智能"),
                    ("智算科技有限公司", "智算")),
        "focus": ("工业机器视觉检测", "政务大模型与智能问答", "视频结构化与事件识别", "医疗影像辅助诊断",
                  "文档智能与OCR识别", "行业知识图谱构建", "智能语音交互", "大模型私有化部署与智能体开发"),
        "products": ("AI视觉缺陷检测一体机", "视频事件智能分析平台", "政务知识问答大模型", "智能文档审核系统",
                     "行业知识图谱平台", "语音客服机器人", "模型训练与推理管理平台", "影像辅助阅片系统"),
        "benefits": ("在复杂光照条件下识别准确率保持在{95-99}%以上", "支持{30-120}类城市事件的自动识别",
                     "小样本条件下{1-3}天即可完成新缺陷类型的模型迭代", "单卡可并发处理{16-64}路视频流",
                     "在国产算力卡上完成推理适配，性能损失小于{5-12}%", "问答命中率较关键词检索提升{20-40}个百分点"),
        "tags": ("机器视觉", "深度学习", "大模型", "知识图谱", "自然语言处理", "OCR", "语音识别", "智能问答",
                 "视频分析", "缺陷检测", "目标检测", "PyTorch", "智能体", "国产算力适配"),
        "industries": ("汽车零部件", "城市管理", "医疗卫生", "政务服务", "电子制造", "交通"),
        "cases": ("汽车零部件表面缺陷视觉检测", "城市管理视频智能巡查", "12345热线智能工单分派", "政务服务智能问答",
                  "病历文书结构化与质控", "电子元器件外观检测", "合同智能审查", "高速公路事件自动检测"),
        "details": ("部署检测工位{4-24}个，替代人工目检", "日均自动识别事件{800-6000}起", "工单自动分派准确率达到{88-96}%",
                    "漏检率降至{0.1-0.9}%以下", "累计标注训练样本{5-60}万张", "平均处理时长由分钟级缩短至{2-10}秒"),
        "scope": ("人工智能应用软件开发", "人工智能基础软件开发", "人工智能行业应用系统集成服务", "智能控制系统集成",
                  "软件开发", "数据处理服务"),
    },
    "industrial_internet": {
        "endings": (("工业互联网科技有限公司", "工业互联网"), ("智能制造科技有限公司", "智造"), ("智联科技有限公司", "智联"),
                    ("工业科技有限公司", "工业科技")),
        "focus": ("离散制造MES与数字化车间", "设备联网与工业数据采集", "工业互联网标识解析二级节点应用", "设备预测性维护",
                  "能源管理与碳排放监测", "供应链协同与APS高级排产", "质量追溯与SPC统计过程控制", "工厂数字孪生"),
        "products": ("数字化车间MES", "设备联网采集网关", "标识解析应用平台", "设备健康管理系统", "能碳管理平台",
                     "APS高级计划排程系统", "质量追溯系统", "工业APP开发平台"),
        "benefits": ("已适配{200-800}余种主流PLC和数控系统协议", "实施周期较同类产品缩短{30-50}%",
                     "帮助客户设备综合效率（OEE）平均提升{8-18}个百分点", "支持集团多工厂统一部署与分级管理",
                     "内置汽摩、电子行业{30-90}个工艺模板", "可与主流ERP、PLM系统双向集成"),
        "tags": ("工业互联网", "MES", "设备联网", "标识解析", "数字孪生", "预测性维护", "SCADA", "OPC UA", "能耗管理",
                 "APS排产", "边缘计算", "质量追溯", "数字化车间", "工业APP"),
        "industries": ("汽车零部件", "摩托车", "电子信息", "装备制造", "材料", "消费品"),
        "cases": ("汽车零部件数字化车间建设", "注塑车间设备联网改造", "标识解析在零部件追溯中的应用", "空压站能耗优化",
                  "数控机床预测性维护", "摩托车总装线MES升级", "集团多工厂生产协同平台", "铸造车间质量数据分析"),
        "details": ("接入生产设备{60-600}台", "生产数据采集频率达到秒级，数据完整率{97-99}%", "在制品库存下降{15-35}%",
                    "产品一次交检合格率提升{2-6}个百分点", "年节约电费{40-400}万元", "计划排产由人工半天缩短至{5-20}分钟"),
        "scope": ("工业互联网数据服务", "工业控制计算机及系统销售", "智能控制系统集成", "软件开发", "物联网技术服务",
                  "信息系统集成服务"),
    },
    "iot_embedded": {
        "endings": (("物联网科技有限公司", "物联"), ("电子科技有限公司", "电子"), ("智能终端有限公司", "智能终端"),
                    ("物联技术有限公司", "物联")),
        "focus": ("城市生命线物联网监测", "NB-IoT与LoRa低功耗终端研发", "嵌入式实时控制软件开发", "北斗高精度定位终端",
                  "智慧水务与管网监测设备", "边缘计算网关与设备管理平台", "智能网联车载终端", "开源鸿蒙设备适配"),
        "products": ("多参数管网监测终端", "边缘计算网关", "物联网设备管理平台", "北斗高精度定位终端", "智能电动阀门控制器",
                     "车载智能终端", "开源鸿蒙行业发行版", "结构健康监测传感单元"),
        "benefits": ("电池供电条件下可连续工作{3-6}年", "设备在线率保持在{97-99}%以上", "单平台可管理{10-100}万台终端",
                     "水平定位精度达到厘米级", "防护等级达到IP68，适应地下空间环境", "支持远程固件升级和配置下发"),
        "tags": ("物联网", "嵌入式", "NB-IoT", "LoRa", "5G", "边缘计算", "RTOS", "传感器", "北斗定位", "智能终端",
                 "鸿蒙", "C/C++", "低功耗", "OTA升级"),
        "industries": ("水务", "燃气", "市政设施", "交通", "应急管理", "农业"),
        "cases": ("供水管网压力与漏损监测", "桥梁结构健康监测", "燃气管网泄漏监测", "城市内涝积水监测", "智慧路灯单灯控制",
                  "农业大棚环境监测", "电动自行车充电安全监测", "地下管廊环境监测"),
        "details": ("部署监测终端{300-5000}台", "平均漏损率下降{2-6}个百分点", "实现{20-120}公里管线在线监测",
                    "预警信息{1-5}分钟内推送至责任人", "终端在线率{96-99}%", "节约路灯用电{20-45}%"),
        "scope": ("物联网技术服务", "物联网设备制造", "物联网应用服务", "电子产品销售", "智能仪器仪表销售",
                  "卫星导航服务"),
    },
    "it_services": {
        "endings": (("信息服务有限公司", "信息服务"), ("信息系统有限公司", "信息系统"), ("科技服务有限公司", "科技服务"),
                    ("信息技术服务有限公司", "信息服务")),
        "focus": ("政务云资源运维与迁移", "数据中心基础设施运维", "信创终端与系统替代实施", "IT服务管理体系建设",
                  "网络规划与系统集成", "容灾备份与业务连续性服务", "桌面运维与驻场服务", "应用系统上云与性能调优"),
        "products": ("ITSM服务管理平台", "一体化运维监控平台", "信创迁移工具集", "自动化运维编排平台",
                     "数据中心动环监控系统", "容灾演练管理系统"),
        "benefits": ("统一纳管{500-5000}个以上监控对象", "故障平均修复时间缩短{30-60}%", "已完成{2000-20000}台信创终端替换实施",
                     "支持自动化巡检与报告生成", "迁移过程业务中断不超过{2-6}小时", "服务满意度连续多年保持在{95-99}%以上"),
        "tags": ("运维服务", "系统集成", "云迁移", "信创适配", "政务云", "容灾备份", "桌面运维", "ITSM", "数据中心",
                 "超融合", "网络规划", "等保整改", "自动化运维"),
        "industries": ("政务", "医疗卫生", "教育", "金融", "能源", "交通"),
        "cases": ("政务云资源运维服务", "数据中心机房改造", "信创终端替代实施", "核心业务系统异地容灾建设",
                  "医院信息系统运维外包", "教育城域网升级改造", "全市视频会议系统运维", "业务系统整体上云迁移"),
        "details": ("运维虚拟机{300-3000}台", "完成{800-9000}台终端的国产化替换", "系统可用性达到99.9{5-9}%",
                    "RPO小于{5-15}分钟、RTO小于{1-4}小时", "年度响应服务工单{3000-20000}余件", "迁移业务系统{20-120}个"),
        "scope": ("信息系统运行维护服务", "信息系统集成服务", "计算机系统服务", "信息技术咨询服务", "网络技术服务",
                  "计算机软硬件及辅助设备零售"),
    },
    "digital_content": {
        "endings": (("数字文化科技有限公司", "数字文化"), ("文化传媒有限公司", "文化"), ("动漫科技有限公司", "动漫"),
                    ("数字创意有限公司", "数字创意")),
        "focus": ("文旅景区数字化展陈", "虚拟数字人与智能播报", "城市三维实景建模", "VR/AR沉浸式体验开发",
                  "红色文化资源数字化", "短视频与融媒体内容生产", "博物馆文物数字化采集", "数字孪生可视化大屏"),
        "products": ("虚拟数字人制作平台", "三维实景建模服务", "沉浸式展厅内容", "文物高精度数字化采集系统",
                     "全景漫游发布平台", "可视化大屏开发框架"),
        "benefits": ("数字人驱动延迟低于{200-500}毫秒", "单日可完成{2-8}平方公里倾斜摄影建模",
                     "文物纹理采集精度达到{0.02-0.1}毫米", "内容可在手机、大屏和头显多端发布",
                     "已为{10-60}余家景区和场馆提供数字内容", "大屏场景渲染帧率稳定在60帧以上"),
        "tags": ("数字孪生", "三维建模", "VR", "AR", "数字人", "动画制作", "虚拟展厅", "UE5", "Unity", "短视频",
                 "文旅数字化", "全景漫游", "倾斜摄影"),
        "industries": ("文旅", "博物馆", "教育", "党政宣传", "城市规划", "会展"),
        "cases": ("红岩文化数字展馆", "景区夜游AR导览", "城市更新片区三维实景建模", "虚拟数字人政务播报",
                  "非遗技艺数字化记录", "区级城市运行可视化大屏", "博物馆馆藏文物三维采集", "融媒体短视频内容制作"),
        "details": ("完成文物三维采集{80-600}件", "线上展厅累计访问量超过{10-120}万人次", "建模面积{5-60}平方公里",
                    "制作短视频{100-900}条，全网播放量超过{1-9}千万", "数字人年播报时长超过{300-1500}小时",
                    "夜游项目带动景区二次消费增长{10-30}%"),
        "scope": ("数字内容制作服务（不含出版发行）", "数字文化创意软件开发", "动漫游戏开发", "广告制作", "会议及展览服务",
                  "专业设计服务"),
    },
    "data_services": {
        "endings": (("大数据科技有限公司", "大数据"), ("数据科技有限公司", "数据"), ("数据服务有限公司", "数据服务"),
                    ("数据技术有限公司", "数据")),
        "focus": ("政务数据治理与共享交换", "数据中台与指标体系建设", "公共数据授权运营", "数据资产入表咨询",
                  "行业数据仓库与BI分析", "高质量数据集建设与数据标注", "主数据管理与数据质量提升", "企业信用数据服务"),
        "products": ("数据治理平台", "数据中台", "指标管理平台", "数据资产管理系统", "数据标注平台", "自助BI分析工具",
                     "数据共享交换平台", "主数据管理系统"),
        "benefits": ("可对接{30-150}种异构数据源", "数据质量规则库内置{200-900}条规则", "日处理数据量超过{5-80}亿条",
                     "支持Flink实时计算与离线批处理一体化", "已支撑{10-40}个部门的数据共享", "数据标注质检准确率达到{97-99}%"),
        "tags": ("数据治理", "数据中台", "数据仓库", "数据标注", "数据可视化", "主数据", "BI", "数据资产", "数据共享交换",
                 "Flink", "Spark", "指标体系", "公共数据运营"),
        "industries": ("政务", "医疗卫生", "金融", "交通", "能源", "制造业"),
        "cases": ("区级政务数据资源目录编制", "卫生健康数据中心建设", "企业经营指标分析平台", "公共数据授权运营平台",
                  "交通出行数据分析", "集团主数据治理", "数据资产盘点与入表咨询", "城市治理高质量数据集建设"),
        "details": ("编制数据资源目录{300-3000}项", "归集数据{1-30}亿条", "数据问题整改率达到{90-99}%",
                    "构建指标{150-1200}个", "数据共享接口调用量月均{50-800}万次", "形成可用于模型训练的数据集{5-40}个"),
        "scope": ("大数据服务", "数据处理服务", "数据处理和存储支持服务", "互联网数据服务", "信息技术咨询服务",
                  "软件开发"),
    },
    "internet_platform": {
        "endings": (("网络科技有限公司", "网络"), ("互联网科技有限公司", "互联网"), ("云科技有限公司", "云科技"),
                    ("平台科技有限公司", "平台")),
        "focus": ("产业互联网撮合交易平台", "农产品电商与供应链服务", "政务服务小程序运营", "SaaS化行业管理软件",
                  "本地生活与社区服务平台", "在线招聘与灵活用工平台", "物流货运匹配平台", "工业品集采平台"),
        "products": ("供应链协同SaaS", "B2B撮合交易平台", "社区服务小程序", "农产品产地直供平台", "灵活用工服务平台",
                     "网络货运平台", "会员运营中台"),
        "benefits": ("平台注册用户超过{20-300}万人", "年交易额突破{3-40}亿元", "日订单处理能力超过{10-80}万单",
                     "支持微信、支付宝和鸿蒙元服务多端接入", "推荐转化率较人工运营提升{15-40}%", "SaaS服务企业客户{500-6000}余家"),
        "tags": ("互联网平台", "小程序", "电商", "供应链", "SaaS", "在线支付", "撮合交易", "用户运营", "直播",
                 "推荐算法", "鸿蒙元服务", "微服务", "高并发"),
        "industries": ("农业", "商贸", "物流", "人力资源", "社区服务", "制造业"),
        "cases": ("区县农产品电商平台", "社区居家养老服务平台", "零工市场信息平台", "网络货运平台建设",
                  "工业品集中采购平台", "商圈数字化会员平台", "政务服务小程序运营", "预付式消费资金监管平台"),
        "details": ("入驻商户{200-3000}家", "累计撮合交易额{1-20}亿元", "平台注册用户{5-80}万人", "订单峰值每秒{500-5000}笔",
                    "带动农户增收{5-20}%", "服务灵活就业人员{1-9}万人次"),
        "scope": ("互联网数据服务", "互联网销售（除销售需要许可的商品）", "网络技术服务", "软件开发", "供应链管理服务",
                  "信息咨询服务（不含许可类信息咨询服务）"),
    },
    "emerging_tech": {
        "endings": (("区块链科技有限公司", "区块链"), ("空间信息技术有限公司", "空间信息"), ("数字孪生科技有限公司", "孪生"),
                    ("未来科技有限公司", "科技"), ("低空科技有限公司", "低空")),
        "focus": ("区块链电子存证与可信数据流通", "城市信息模型（CIM）平台", "低空无人机巡检与航线规划", "卫星遥感影像解译",
                  "数字人民币场景应用", "智能网联汽车测试与车路协同", "量子安全通信应用", "算力调度与智算服务"),
        "products": ("区块链存证服务平台", "CIM基础平台", "无人机自动机场管理系统", "遥感智能解译平台", "车路协同路侧系统",
                     "数字人民币受理组件", "算力调度平台"),
        "benefits": ("上链数据可在司法链上一键核验", "单次航线可覆盖{5-30}平方公里巡检范围",
                     "遥感变化图斑识别准确率达到{85-95}%", "支持BIM、GIS、IoT数据在同一空间底座融合",
                     "路侧感知时延低于{50-150}毫秒", "可调度{3-12}个异构算力中心资源"),
        "tags": ("区块链", "CIM", "BIM", "GIS", "数字孪生", "低空经济", "无人机", "卫星遥感", "北斗", "车路协同",
                 "数字人民币", "量子通信", "算力调度", "隐私计算"),
        "industries": ("城市规划", "自然资源", "交通", "金融", "电力", "应急管理"),
        "cases": ("区块链电子证照存证", "城市信息模型平台建设", "输电线路无人机自主巡检", "耕地保护遥感监测",
                  "车路协同示范道路建设", "数字人民币智慧食堂应用", "智算中心算力调度平台", "工程质量检测报告上链"),
        "details": ("上链存证记录超过{100-2000}万条", "接入BIM模型{200-3000}个", "无人机累计飞行{2000-20000}架次",
                    "识别疑似违法用地图斑{300-4000}处", "改造路口{10-60}个", "算力资源利用率提升{15-35}%"),
        "scope": ("区块链技术相关软件和服务", "地理遥感信息服务", "卫星导航服务", "智能无人飞行器销售", "软件开发",
                  "数字技术服务"),
    },
}

_STACKS = ("Java", "Spring Cloud", "Python", "Go", "Vue", "React", "TypeScript", "Kubernetes", "Flink", "C/C++",
           "Rust", "PyTorch", "ArkTS", "Qt", "Three.js", "Cesium")
_XC_CPU = ("鲲鹏", "海光", "飞腾", "龙芯", "兆芯")
_XC_OS = ("统信UOS", "银河麒麟", "openEuler")
_XC_DB = ("达梦", "人大金仓", "GaussDB", "OceanBase", "TiDB")
_UNIVERSITIES = ("重庆大学", "重庆邮电大学", "西南大学", "重庆理工大学", "重庆交通大学", "重庆师范大学", "重庆工商大学",
                 "中国科学院重庆绿色智能技术研究院", "重庆科技大学")
_ORIGINS = ("华为、中兴等通信设备企业", "国内头部云服务商", "长安汽车等主机厂信息化部门", "重庆大学和重庆邮电大学",
            "国内知名安全厂商", "大型系统集成商", "北京、深圳的互联网企业", "科研院所和高校实验室")

# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

_CURATED_STEMS = (
    "云栈:yunzhan", "嘉陵:jialing", "缙云:jinyun", "朝天:chaotian", "鹅岭:eling", "歌乐:gele", "黄桷:huangjue",
    "雾都:wudu", "磐石:panshi", "星图:xingtu", "数澜:shulan", "智渝:zhiyu", "峰图:fengtu", "易联:yilian",
    "博越:boyue", "睿途:ruitu", "海川:haichuan", "中渝:zhongyu", "凌云:lingyun", "鼎信:dingxin", "启明:qiming",
    "青橙:qingcheng", "蓝鲸:lanjing", "飞象:feixiang", "知行:zhixing", "远见:yuanjian", "坤元:kunyuan",
    "乾承:qiancheng", "合纵:hezong", "微澜:weilan", "长河:changhe", "云阶:yunjie", "渝信:yuxin", "巴蜀:bashu",
    "朗坤:langkun", "锐思:ruisi", "创景:chuangjing", "格物:gewu", "弘毅:hongyi", "卓讯:zhuoxun", "璞石:pushi",
    "观澜:guanlan", "秋实:qiushi", "北辰:beichen", "曦和:xihe", "衡宇:hengyu", "银杏:yinxing", "橙果:chengguo",
    "朝辉:zhaohui", "景明:jingming", "元启:yuanqi", "蜂巢:fengchao", "量衡:liangheng", "数链:shulian",
    "栈桥:zhanqiao", "瞰云:kanyun", "清研:qingyan", "润泽:runze", "芯渝:xinyu", "筑云:zhuyun", "天衍:tianyan",
    "鸿鹄:honghu", "白鹭:bailu", "云岫:yunxiu", "雅川:yachuan", "山屿:shanyu", "两山:liangshan", "洪崖:hongya",
    "南山:nanshan", "金佛:jinfo", "仙女:xiannv", "渝开:yukai", "川江:chuanjiang", "三峡:sanxia", "明月:mingyue",
)
_STEM_FIRST = (
    "云:yun", "星:xing", "数:shu", "智:zhi", "博:bo", "睿:rui", "鼎:ding", "启:qi", "天:tian", "凌:ling", "海:hai",
    "极:ji", "知:zhi", "远:yuan", "拓:tuo", "坤:kun", "乾:qian", "微:wei", "锐:rui", "创:chuang", "格:ge",
    "卓:zhuo", "聚:ju", "璞:pu", "观:guan", "曦:xi", "衡:heng", "景:jing", "恒:heng", "元:yuan", "鸿:hong",
    "翼:yi", "雅:ya", "朗:lang", "嘉:jia", "德:de", "诚:cheng", "泰:tai", "新:xin", "明:ming", "立:li", "思:si",
    "宸:chen", "沐:mu", "易:yi", "峻:jun", "渝:yu", "巴:ba", "澄:cheng", "弘:hong",
)
_STEM_SECOND = (
    "栈:zhan", "联:lian", "图:tu", "澜:lan", "途:tu", "岳:yue", "川:chuan", "擎:qing", "信:xin", "象:xiang",
    "光:guang", "行:xing", "维:wei", "承:cheng", "阶:jie", "物:wu", "毅:yi", "讯:xun", "石:shi", "实:shi",
    "辰:chen", "宇:yu", "晟:sheng", "巢:chao", "衡:heng", "链:lian", "桥:qiao", "泽:ze", "汇:hui", "灵:ling",
    "筑:zhu", "衍:yan", "瑞:rui", "禾:he", "屹:yi", "策:ce", "锋:feng", "源:yuan", "森:sen", "帆:fan", "舟:zhou",
    "岩:yan", "峡:xia", "弈:yi", "匠:jiang", "序:xu", "芯:xin", "杉:shan", "湾:wan", "谷:gu",
)


def _split(pair: str) -> tuple[str, str]:
    cn, py = pair.split(":")
    return cn, py


def _stems(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` distinct firm 字号 (Chinese, pinyin): curated ones first, then composed ones."""
    curated = [_split(s) for s in _CURATED_STEMS]
    rng.shuffle(curated)
    seen = {cn for cn, _ in curated}
    result = curated[: n // 4]
    firsts = [_split(s) for s in _STEM_FIRST]
    seconds = [_split(s) for s in _STEM_SECOND]
    combos = [(a + b, pa + pb) for a, pa in firsts for b, pb in seconds if a != b]
    rng.shuffle(combos)
    pool = curated[n // 4:] + combos
    for cn, py in pool:
        if len(result) >= n:
            break
        if cn in seen and (cn, py) not in curated[n // 4:]:
            continue
        seen.add(cn)
        result.append((cn, py))
    rng.shuffle(result)
    return result


# ---------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------

# district: (address prefix, roads, buildings)
_LOCATIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "yuzhong": ("重庆市渝中区", ("民族路", "中山三路", "瑞天路", "大坪正街", "长江一路", "邹容路", "化龙桥正街"),
                ("重庆国际金融中心", "化龙桥企业天地", "大坪时代天街写字楼", "鹅岭二厂文创公园", "解放碑环球金融中心",
                 "渝中区大数据产业孵化基地")),
    "dadukou": ("重庆市大渡口区", ("春晖路", "建桥大道", "松青路", "翠柏路", "钢花路"),
                ("重庆大数据产业园建桥园区", "大渡口区创新创业园", "钓鱼嘴音乐半岛数字产业楼", "义渡科创中心")),
    "jiangbei": ("重庆市江北区", ("江北城西大街", "建新北路", "北城天街", "海尔路", "聚贤街"),
                 ("江北嘴国际金融中心", "观音桥北城天街写字楼", "重庆科技金融大厦", "江北嘴数字经济楼宇", "鱼嘴智造产业园")),
    "shapingba": ("重庆市沙坪坝区", ("西永大道", "大学城中路", "学城大道", "景苑路", "微电园路"),
                  ("西永微电子产业园", "大学城科技产业园", "重庆大学科技园", "西永综合保税区研发楼", "磁器口文创园")),
    "jiulongpo": ("重庆市九龙坡区", ("科园四路", "渝州路", "谢家湾正街", "石杨路", "含谷大道"),
                  ("九龙意库", "重庆留学人员创业园", "石桥铺科技大厦", "九龙坡数字经济产业园", "华岩新城科创中心")),
    "nanan": ("重庆市南岸区", ("南城大道", "通江大道", "江南大道", "茶园路", "迎龙大道"),
              ("重庆经开区互联网产业园", "南岸物联网产业园", "长嘉汇写字楼", "南坪万达广场", "茶园数字经济产业园")),
    "beibei": ("重庆市北碚区", ("云华路", "天生路", "蔡家大道", "同兴路"),
               ("西南大学国家大学科技园", "蔡家智慧新城产业园", "北碚数字经济产业园", "同兴科创中心")),
    "yubei": ("重庆市渝北区", ("数据谷中路", "金开大道", "黄山大道中段", "星光大道", "桂馥大道", "双凤路"),
              ("仙桃国际数据谷", "渝北区互联网产业园", "临空金融中心", "中国智谷（重庆）科技园", "光电园研发楼", "汽博中心")),
    "banan": ("重庆市巴南区", ("龙洲大道", "渝南大道", "云湖路", "界石大道"),
              ("巴南区数字经济产业园", "重庆国际生物城研发中心", "龙洲湾科创中心", "巴南经济园区标准厂房")),
    "liangjiang": ("重庆市两江新区", ("星光大道", "金渝大道", "礼嘉大道", "云汉大道", "悦来大道", "龙兴大道"),
                   ("两江数字经济产业园", "两江新区互联网产业园", "照母山科技创新城", "两江协同创新区", "水土云计算产业园",
                    "礼嘉智慧公园数字楼")),
    "gaoxin": ("重庆市高新区", ("科园一路", "西永大道", "曾家大道", "含金路", "金凤大道"),
               ("重庆高新区金凤软件园", "西部（重庆）科学城科学谷", "高新区二郎创新经济走廊", "金凤电子信息产业园",
                "科学会堂创新楼")),
    "other": ("重庆市", ("永川区兴龙大道", "涪陵区太白大道", "合川区希尔安大道", "璧山区东林大道", "江津区双福大道",
                        "长寿区齐心大道"),
              ("永川大数据产业园", "涪陵高新区创新中心", "合川信息安全产业城", "璧山高新区科创中心", "江津双福科创园",
               "长寿经开区研发楼")),
}

_DISTRICT_WEIGHTS = {
    "yubei": 18, "liangjiang": 16, "gaoxin": 14, "yuzhong": 10, "jiulongpo": 10, "nanan": 8, "jiangbei": 8,
    "shapingba": 6, "beibei": 4, "banan": 4, "dadukou": 3, "other": 4,
}
_DOMAIN_WEIGHTS = {
    "software": 18, "ic_design": 4, "industrial_design": 4, "infosec": 8, "ai": 12, "industrial_internet": 10,
    "iot_embedded": 9, "it_services": 10, "digital_content": 6, "data_services": 9, "internet_platform": 6,
    "emerging_tech": 5,
}
# Domains that often come together in one firm.
_RELATED = {
    "software": ("data_services", "internet_platform", "it_services", "ai"),
    "ic_design": ("iot_embedded", "industrial_design"),
    "industrial_design": ("digital_content", "iot_embedded"),
    "infosec": ("it_services", "data_services", "software"),
    "ai": ("data_services", "software", "industrial_internet"),
    "industrial_internet": ("iot_embedded", "ai", "software"),
    "iot_embedded": ("industrial_internet", "ic_design", "software"),
    "it_services": ("infosec", "software", "data_services"),
    "digital_content": ("emerging_tech", "software", "industrial_design"),
    "data_services": ("ai", "software", "infosec"),
    "internet_platform": ("software", "data_services"),
    "emerging_tech": ("digital_content", "data_services", "iot_embedded"),
}


def _address(rng: random.Random, district: str) -> tuple[str, str]:
    prefix, roads, buildings = _LOCATIONS[district]
    number = rng.randint(1, 399)
    address = f"{prefix}{rng.choice(roads)}{number}号"
    if rng.random() < 0.15:
        address += f"附{rng.randint(1, 30)}号"
    style = rng.random()
    park = rng.choice(buildings)
    if style < 0.4:
        building = f"{park}{rng.randint(1, 12)}栋"
    elif style < 0.7:
        building = f"{park}{rng.choice('ABCDE')}座{rng.randint(2, 28)}楼"
    elif style < 0.85:
        building = f"{park}{rng.randint(1, 9)}号楼{rng.randint(1, 22)}层"
    else:
        building = park
    return address, building


# ---------------------------------------------------------------------------
# Number ranges inside phrases: "{12-30}" → an integer, "{0.1-0.9}" → one decimal.
# ---------------------------------------------------------------------------


def fill_numbers(rng: random.Random, text: str, precise: bool = False) -> str:
    """Replace every ``{a-b}`` in ``text`` with a number drawn from that range.

    Integers stay integers unless ``precise`` (then one decimal is added, as in
    measured results); a range written with decimals keeps their precision.
    """
    out: list[str] = []
    i = 0
    while True:
        start = text.find("{", i)
        if start < 0:
            out.append(text[i:])
            break
        end = text.find("}", start)
        body = text[start + 1:end]
        lo, sep, hi = body.partition("-")
        if not sep or not lo.replace(".", "").isdigit() or not hi.replace(".", "").isdigit():
            out.append(text[i:end + 1])
            i = end + 1
            continue
        out.append(text[i:start])
        decimals = len(lo.partition(".")[2])
        if decimals:
            value = rng.uniform(float(lo), float(hi))
            out.append(f"{value:.{decimals}f}")
        elif precise:
            out.append(f"{rng.uniform(int(lo), int(hi)):.1f}")
        else:
            out.append(str(rng.randint(int(lo), int(hi))))
        i = end + 1
    return "".join(out)


# ---------------------------------------------------------------------------
# Clients for past cases
# ---------------------------------------------------------------------------

_CLIENT_STEMS = ("宏岩", "渝江", "华鼎", "凯源", "欣荣", "通耀", "瑞驰", "鑫泰", "恒达", "华渝", "万兴", "永固",
                 "顺达", "明辉", "润通", "嘉诚", "泰德", "远航", "龙旺", "锦程", "兴渝", "长丰", "华兴", "捷能",
                 "同创", "晶越", "东升", "海德", "天马", "金诺")
_CLIENT_TRADES = ("精密机械", "汽车零部件", "摩托车制造", "电子科技", "模具", "齿轮", "铸造", "新材料", "食品",
                  "制药", "物流", "家居", "电气", "仪表", "玻璃", "智能装备")
_MANUFACTURING_DOMAINS = {"ic_design", "industrial_design", "industrial_internet"}


def enterprise_client(rng: random.Random) -> str:
    """A plausible (fictitious) Chongqing manufacturing or trading company name."""
    return f"重庆{rng.choice(_CLIENT_STEMS)}{rng.choice(_CLIENT_TRADES)}有限公司"


def client_name(rng: random.Random, domain: str) -> str:
    """A client for a past case: a manufacturer for factory domains, otherwise mostly a public body."""
    if domain in _MANUFACTURING_DOMAINS or rng.random() < 0.25:
        return enterprise_client(rng)
    return rng.choice(_ORGS)[0]


# ---------------------------------------------------------------------------
# Capability sentences
# ---------------------------------------------------------------------------


def _s_positioning(rng: random.Random, f: dict, p: dict) -> str:
    focus = rng.choice(p["focus"])
    ind1, ind2 = rng.sample(p["industries"], 2)
    district = DISTRICTS[f["district"]] if f["district"] != "other" else "主城都市区"
    patterns = (
        f"{f['short_name']}专注于{focus}，主要服务{ind1}和{ind2}领域客户。",
        f"{f['short_name']}长期深耕{focus}，在{ind1}行业积累了较完整的业务模型和实施方法。",
        f"公司以{focus}为主营方向，核心团队来自{rng.choice(_ORIGINS)}，骨干成员平均从业{rng.randint(8, 16)}年。",
        f"{f['short_name']}定位于{ind1}领域的{focus}服务商，业务已覆盖全市{rng.randint(6, 30)}个区县。",
        f"成立于{f['founded'].year}年的{f['short_name']}聚焦{focus}，在{district}设有研发和交付中心。",
        f"{f['short_name']}的主营业务是{focus}，客户以{ind1}、{ind2}单位为主。",
        f"围绕{ind1}和{ind2}两条主线，{f['short_name']}把{focus}作为公司核心能力持续投入。",
    )
    return rng.choice(patterns)


def _s_product(rng: random.Random, f: dict, p: dict) -> str:
    product = rng.choice(p["products"])
    t1, t2 = rng.sample(p["tags"], 2)
    benefit = fill_numbers(rng, rng.choice(p["benefits"]))
    patterns = (
        f"自主研发的{product}基于{t1}和{t2}技术构建，{benefit}。",
        f"公司核心产品{product}已迭代至V{rng.randint(2, 6)}.{rng.randint(0, 9)}版本，{benefit}。",
        f"在{t1}方向形成了可复用的技术组件，配套推出{product}，{benefit}。",
        f"{product}是{f['short_name']}的拳头产品，融合{t1}与{t2}能力，{benefit}。",
        f"围绕{t1}、{t2}等技术形成了以{product}为核心的产品线，{benefit}。",
        f"{f['short_name']}将{t1}能力沉淀为{product}，{benefit}。",
    )
    return rng.choice(patterns)


def _s_record(rng: random.Random, f: dict, p: dict) -> str:
    ind = rng.choice(p["industries"])
    client = rng.choice(_ORGS)[1] if p is not PROFILES["ic_design"] else enterprise_client(rng)
    patterns = (
        f"近三年累计交付{ind}类项目{rng.randint(12, 160)}个，其中合同额500万元以上的项目{rng.randint(1, 12)}个。",
        f"已为{client}等单位提供{rng.choice(p['focus'])}服务，项目验收一次通过率{rng.randint(92, 100)}%。",
        f"先后承担{ind}领域信息化项目{rng.randint(20, 300)}余项，具备从需求调研、方案设计到上线运维的全流程交付能力。",
        f"累计服务{ind}客户{rng.randint(30, 600)}余家，老客户续约率保持在{rng.randint(70, 95)}%左右。",
        f"{rng.randint(2019, 2024)}年以来参与{ind}行业项目{rng.randint(10, 90)}个，多个项目入选行业优秀案例。",
        f"{f['short_name']}在{ind}领域的项目遍布{rng.randint(5, 26)}个省市，重庆本地项目占比约{rng.randint(35, 85)}%。",
    )
    return rng.choice(patterns)


def _s_team(rng: random.Random, f: dict, p: dict) -> str:
    emp = f["employees"]
    rd = rng.randint(35, 85)
    patterns = (
        f"现有员工{emp}人，其中研发人员占比{rd}%，拥有软件著作权{rng.randint(8, 180)}项、发明专利{rng.randint(0, 40)}项。",
        f"研发团队中硕士及以上学历{max(2, emp * rng.randint(8, 30) // 100)}人，"
        f"持有系统架构设计师、PMP等证书的骨干{max(2, emp * rng.randint(5, 20) // 100)}人。",
        f"与{rng.choice(_UNIVERSITIES)}共建联合实验室，在{rng.choice(p['tags'])}方向开展产学研合作。",
        f"公司拥有软件著作权{rng.randint(10, 200)}项，参与编制团体或地方标准{rng.randint(1, 6)}项。",
        f"{emp}人的团队中{rd}%从事研发，{rng.randint(2017, 2024)}年起连续保持研发投入占营收{rng.randint(8, 25)}%以上。",
    )
    return rng.choice(patterns)


def _s_stack(rng: random.Random, f: dict, p: dict) -> str:
    s1, s2 = rng.sample(_STACKS, 2)
    cpu, os_, db = rng.choice(_XC_CPU), rng.choice(_XC_OS), rng.choice(_XC_DB)
    district = DISTRICTS[f["district"]] if f["district"] != "other" else "重庆"
    patterns = (
        f"技术栈以{s1}、{s2}为主，产品已完成与{cpu}芯片、{os_}操作系统的兼容性互认证。",
        f"可在{cpu}服务器、{os_}和{db}数据库环境下部署运行，满足信创替代要求。",
        f"在{district}组建了{rng.randint(6, 60)}人的本地服务团队，提供7×24小时响应，重大故障{rng.randint(1, 4)}小时内到场。",
        f"已与{db}、{rng.choice(_XC_DB)}等国产数据库完成适配，{s1}工程规范和自动化测试覆盖全部核心模块。",
        f"建立了覆盖需求、开发、测试、发布的DevOps流水线，单元测试覆盖率保持在{rng.randint(60, 85)}%以上。",
    )
    return rng.choice(patterns)


_SENTENCE_BUILDERS = (_s_positioning, _s_product, _s_record, _s_team, _s_stack)


def _capabilities(rng: random.Random, firm: dict, domains: list[str]) -> list[str]:
    count = rng.choices((2, 3, 4, 5), weights=(2, 4, 4, 2))[0]
    builders = [_s_positioning, *rng.sample(_SENTENCE_BUILDERS[1:], count - 1)]
    builders.sort(key=_SENTENCE_BUILDERS.index)
    sentences = []
    for i, build in enumerate(builders):
        domain = domains[0] if i < 2 or len(domains) == 1 else rng.choice(domains)
        sentences.append(build(rng, firm, PROFILES[domain]))
    return sentences


# ---------------------------------------------------------------------------
# Business scope, qualifications, cases
# ---------------------------------------------------------------------------

_SCOPE_HEAD = "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广"
_SCOPE_EXTRA = ("计算机软硬件及辅助设备零售", "办公设备销售", "通讯设备销售", "网络设备销售", "会议及展览服务",
                "企业管理咨询", "人力资源服务（不含职业中介活动、劳务派遣服务）", "信息咨询服务（不含许可类信息咨询服务）",
                "工程管理服务", "安全系统监控服务", "电子产品销售", "货物进出口")
_SCOPE_LICENSED = ("第二类增值电信业务", "第一类增值电信业务", "建设工程施工", "互联网信息服务", "测绘服务")


def _business_scope(rng: random.Random, domains: list[str]) -> str:
    items: list[str] = []
    for d in domains:
        for item in rng.sample(PROFILES[d]["scope"], rng.randint(2, 4)):
            if item not in items:
                items.append(item)
    for item in rng.sample(_SCOPE_EXTRA, rng.randint(1, 3)):
        if item not in items:
            items.append(item)
    head = [_SCOPE_HEAD] if rng.random() < 0.8 else []
    general = "一般项目：" + "；".join(head + items) + "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
    if rng.random() < 0.3:
        licensed = "；".join(rng.sample(_SCOPE_LICENSED, rng.randint(1, 2)))
        return (f"许可项目：{licensed}（依法须经批准的项目，经相关部门批准后方可开展经营活动，"
                f"具体经营项目以相关部门批准文件或许可证件为准）。{general}")
    return general


_OTHER_QUALIFICATIONS = (
    "ITSS信息技术服务运行维护标准符合性证书（三级）", "信息系统建设和服务能力等级证书（CS2）",
    "CCRC信息安全服务资质（安全集成三级）", "ISO 9001质量管理体系认证", "ISO/IEC 20000-1信息技术服务管理体系认证",
    "电子与智能化工程专业承包二级", "乙级测绘资质", "高新技术企业",
)


def _qualifications(rng: random.Random, employees: int, founded: date, domains: list[str]) -> list[dict]:
    first_year = max(founded.year + 2, 2015)
    quals: list[dict] = []

    def add(kind: str, name: str, level: int | None = None) -> None:
        quals.append({"kind": kind, "level": level, "year": rng.randint(min(first_year, 2025), 2025), "name": name})

    if employees >= 300 and rng.random() < 0.35:
        add("key_software", "国家鼓励的重点软件企业")
    if employees >= 80 and rng.random() < 0.12:
        add("little_giant", '国家级专精特新"小巨人"企业')
    if employees >= 50 and rng.random() < 0.25:
        add("city_key_software", "重庆市重点软件和信息服务企业")
    if employees >= 20 and rng.random() < 0.22:
        add("city_specialised", '重庆市"专精特新"中小企业')
    if rng.random() < 0.3:
        level = 5 if employees > 400 and rng.random() < 0.4 else (4 if rng.random() < 0.2 else 3)
        add("cmmi", f"CMMI {level}级（能力成熟度模型集成）", level)
    secure = {"infosec", "it_services", "data_services"} & set(domains)
    if rng.random() < (0.5 if secure else 0.12):
        add("iso27001", "ISO/IEC 27001信息安全管理体系认证")
    if rng.random() < 0.15:
        add("other", rng.choice(_OTHER_QUALIFICATIONS))
    if len(quals) > 3:
        quals = quals[:3]
    return quals


_CASE_PATTERNS = (
    "为{client}建设{title}，{d1}。",
    "{year}年承接{client}{title}项目，{d1}，{d2}。",
    "项目面向{client}的业务需求，{d1}。{d2}，获得用户书面好评。",
    "{title}由{short}独立实施，{d1}；上线后{d2}。",
    "采用{tag}方案完成{title}，{d1}。",
    "为{client}提供{title}服务，{d1}，{d2}。项目已通过终验。",
)


def _cases(rng: random.Random, firm: dict, domains: list[str]) -> list[dict]:
    count = rng.choices((1, 2, 3, 4), weights=(2, 4, 3, 2))[0]
    cases: list[dict] = []
    used_titles: set[str] = set()
    for i in range(count):
        domain = domains[0] if i == 0 else rng.choice(domains)
        p = PROFILES[domain]
        title = rng.choice(p["cases"])
        if title in used_titles:
            continue
        used_titles.add(title)
        client = client_name(rng, domain)
        d1, d2 = (fill_numbers(rng, d) for d in rng.sample(p["details"], 2))
        year = rng.randint(max(2019, firm["founded"].year + 1), 2025)
        description = rng.choice(_CASE_PATTERNS).format(
            client=client, title=title, d1=d1, d2=d2, year=year, short=firm["short_name"], tag=rng.choice(p["tags"])
        )
        scale = {"<500万": 60, "500万-2000万": 150, "2000万-1亿": 400, "1亿-5亿": 900, ">5亿": 1500}[firm["revenue_band"]]
        amount = round(min(2980.0, max(8.0, rng.lognormvariate(0, 0.7) * scale * 0.6)), 2)
        cases.append({"title": title, "client": client, "year": year, "amount_wan": f"{amount:.2f}",
                      "description": description})
    return cases


# ---------------------------------------------------------------------------
# Firms
# ---------------------------------------------------------------------------


def _revenue_band(revenue_wan: float) -> str:
    if revenue_wan < 500:
        return "<500万"
    if revenue_wan < 2000:
        return "500万-2000万"
    if revenue_wan < 10000:
        return "2000万-1亿"
    if revenue_wan < 50000:
        return "1亿-5亿"
    return ">5亿"


def _founded(rng: random.Random, employees: int) -> date:
    years = list(range(2003, 2025))
    weights = [1 + max(0, 8 - abs(y - 2017)) for y in years]
    year = rng.choices(years, weights=weights)[0]
    if employees > 500 and year > 2016:
        year = rng.randint(2003, 2014)
    return date(year, rng.randint(1, 12), rng.randint(1, 28))


def software_firms(rng: random.Random, n: int = 320) -> list[dict]:
    """``n`` local software firms with varied capability profiles; names are unique.

    Each dict: ``name``, ``short_name``, ``uscc`` ('91…', valid), ``district``,
    ``address``, ``building``, ``founded`` (date), ``newly_settled_year`` (None, 2025
    or 2026), ``employees``, ``revenue_band``, ``business_scope``, ``capabilities``
    (text of 2–5 sentences), ``domains`` (1–3 codes), ``tags`` (3–8), ``qualifications``
    (0–3 dicts: ``kind``, ``level``, ``year``, ``name``), ``cases`` (1–4 dicts:
    ``title``, ``client``, ``year``, ``amount_wan``, ``description``) and ``contact``
    (``name``, ``phone``, ``email``).
    """
    districts = list(_DISTRICT_WEIGHTS)
    district_weights = list(_DISTRICT_WEIGHTS.values())
    domain_codes = list(_DOMAIN_WEIGHTS)
    domain_weights = list(_DOMAIN_WEIGHTS.values())
    stems = _stems(rng, n)
    used_emails: set[str] = set()
    used_slugs: set[str] = set()
    names: set[str] = set()
    firms: list[dict] = []
    for i in range(n):
        district = districts[i] if i < len(districts) else pick_weighted(rng, districts, district_weights)
        primary = domain_codes[i % len(domain_codes)] if i < 2 * len(domain_codes) else pick_weighted(
            rng, domain_codes, domain_weights)
        domains = [primary]
        extra = rng.choices((0, 1, 2), weights=(4, 4, 2))[0]
        for d in rng.sample(_RELATED[primary], min(extra, len(_RELATED[primary]))):
            domains.append(d)

        stem, stem_py = stems[i]
        ending, short_suffix = rng.choice(PROFILES[primary]["endings"])
        employees = int(min(3000, max(6, rng.lognormvariate(3.7, 1.0))))
        newly_settled = rng.choice((2025, 2026)) if rng.random() < 0.1 else None
        style = rng.random()
        if newly_settled and style < 0.6:
            name = f"{stem}（重庆）{ending}"
        elif style < 0.08:
            name = f"重庆市{stem}{ending}"
        elif employees > 400 and style < 0.5:
            name = f"重庆{stem}{ending.replace('有限公司', '股份有限公司')}"
        else:
            name = f"重庆{stem}{ending}"
        if name in names:  # pragma: no cover - stems are distinct
            name = f"重庆{stem}{short_suffix}{ending}"
        names.add(name)

        revenue = employees * rng.uniform(22, 95)
        founded = _founded(rng, employees)
        address, building = _address(rng, district)
        slug = stem_py
        k = 2
        while slug in used_slugs:
            slug = f"{stem_py}{k}"
            k += 1
        used_slugs.add(slug)

        firm: dict = {
            "name": name,
            "short_name": stem + short_suffix,
            "uscc": make_uscc(rng, "91", region_code(rng, district), modern=founded.year >= 2016 or None),
            "district": district,
            "address": address,
            "building": building,
            "founded": founded,
            "newly_settled_year": newly_settled,
            "employees": employees,
            "revenue_band": _revenue_band(revenue),
            "domains": domains,
        }
        firm["business_scope"] = _business_scope(rng, domains)
        firm["capabilities"] = "".join(_capabilities(rng, firm, domains))

        tags: list[str] = []
        tag_count = rng.randint(3, 8)
        pools = [PROFILES[d]["tags"] for d in domains]
        while len(tags) < tag_count:
            pool = pools[0] if len(tags) < 3 or rng.random() < 0.5 else rng.choice(pools)
            tag = rng.choice(pool)
            if tag not in tags:
                tags.append(tag)
        firm["tags"] = tags
        firm["qualifications"] = _qualifications(rng, employees, founded, domains)
        firm["cases"] = _cases(rng, firm, domains)
        firm["contact"] = contact(rng, f"{slug}.example.cq", used_emails, landline_share=0.3)
        firms.append(firm)
    return firms
