"""Model files saved by older code are refitted, not loaded."""

from __future__ import annotations

import pickle

from marketplace.extensions import db
from marketplace.matching.matcher import MODEL_FORMAT
from tests.test_matching_site import TRAFFIC


def test_model_file_of_an_older_format_is_refitted(app, make_scenario, make_firm, matching_config):
    from marketplace.matching import services
    from marketplace.matching.freshness import ModelCache

    scenario = make_scenario()
    firm = make_firm(TRAFFIC)
    assert services.suggest_firms(db.session, scenario)[0].profile.id == firm.id
    (path,) = matching_config.model_dir.glob("firms-*.pkl")
    data = pickle.loads(path.read_bytes())
    assert data["format"] == MODEL_FORMAT
    current = ModelCache(app, services.build_model)
    assert current.get(db.session, "firms").matcher.ids == [firm.id]
    assert (current.loads, current.builds) == (1, 0)

    del data["format"]  # as written before model files carried a format
    path.write_bytes(pickle.dumps(data))
    older = ModelCache(app, services.build_model)
    assert older.get(db.session, "firms").matcher.ids == [firm.id]
    assert (older.loads, older.builds) == (0, 1)
