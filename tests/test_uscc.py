from marketplace import uscc


def test_known_valid_codes():
    assert uscc.is_valid("91350100M000100Y43")
    assert uscc.is_valid(" 91350100m000100y43 ")  # spaces and lower case are normalised


def test_wrong_check_character_is_refused_with_a_reason():
    assert "校验位" in uscc.problem("91350100M000100Y44")


def test_wrong_length_and_characters():
    assert "18位" in uscc.problem("9135010")
    assert "不允许" in uscc.problem("91350100M000100IO3")


def test_check_char_round_trip():
    first17 = "91500103MA5U000000"[:17]
    assert uscc.is_valid(first17 + uscc.check_char(first17))
