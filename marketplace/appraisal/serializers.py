"""The public record of a published appraisal (``GET /api/v1/appraisals/<year>``).

Rewards are whole yuan (integers); scores, weights and normalised values are decimal strings.
The evidence lists stay on the staff pages and the export.
"""

from __future__ import annotations

from typing import Any

from marketplace.appraisal.computation import Outcome
from marketplace.clock import iso_local
from marketplace.models import Appraisal


def appraisal_record(appraisal: Appraisal, result: Outcome) -> dict[str, Any]:
    """Each district's indicators, score, rank and reward, with the appraisal's settings."""
    return {
        "year": appraisal.year,
        "period": appraisal.period.value,
        "name": appraisal.name,
        "published_at": iso_local(appraisal.published_at),
        "reward_pool_yuan": int(appraisal.reward_pool_yuan),
        "cap_yuan": int(appraisal.cap_yuan),
        "top_n": appraisal.top_n,
        "unallocated_yuan": int(result.unallocated_yuan),
        "indicators": [{"code": i.code, "name": i.name, "weight": f"{i.weight:.2f}"} for i in appraisal.indicators],
        "items": [
            {
                "district": line.district.name,
                "district_code": line.district.code,
                "indicators": line.indicators,
                "score": f"{line.score:.2f}",
                "rank": line.rank,
                "reward_yuan": int(line.reward_yuan),
            }
            for line in result.results
        ],
    }
