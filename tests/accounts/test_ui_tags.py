from accounts.templatetags.accounts_ui import initials


def test_initials_skip_punctuation():
    assert initials("Ada (facilitator)") == "AF"
    assert initials("Olivia Owner") == "OO"
    assert initials("acme") == "A"
    assert initials("(!)") == "?"
