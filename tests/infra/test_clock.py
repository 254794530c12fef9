"""`--clock-ahead DAYS` (make test-ahead) really runs the suite that far ahead: the test
process's clock against the kernel's, read from a file it has just written."""

import time


def test_the_clock_is_shifted_by_exactly_what_was_asked(request, tmp_path):
    days = request.config.getoption("--clock-ahead")
    marker = tmp_path / "now"
    marker.write_text("")
    shift = time.time() - marker.stat().st_mtime
    assert abs(shift - days * 86400) < 60
