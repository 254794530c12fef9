"""Column-mapping guesses from headers: the real files' and common export shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.engine.importer import ImportRefused
from analytics.engine.importing.column_mapping import ColumnMapping, guess_mapping

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bpic2012_event_log():
    guess = guess_mapping([REAL / "bpic2012_loan_applications" / "bpic2012_events.csv.gz"],
                          None)
    m = guess.mapping
    assert (m.user_id, m.event, m.timestamp, m.event_name) == (
        "case_id", "activity", "timestamp", None)
    assert guess.columns == {"bpic2012_events.csv.gz": [
        "case_id", "amount_req", "reg_date", "activity", "lifecycle", "timestamp", "resource"]}
    assert any("case_id" in n for n in guess.notes)


def test_completejourney_transactions_and_demographics():
    folder = REAL / "completejourney"
    guess = guess_mapping([folder / "transactions.parquet"], folder / "demographics.parquet")
    m = guess.mapping
    assert (m.user_id, m.timestamp, m.users_user_id) == (
        "household_id", "transaction_timestamp", "household_id")
    # No event column: every row is one event, named after the file.
    assert m.event_name == "transaction"
    assert any("every row of transactions.parquet" in n for n in guess.notes)
    assert set(guess.columns) == {"transactions.parquet", "demographics.parquet"}


def test_completejourney_coupon_redemptions():
    guess = guess_mapping([REAL / "completejourney" / "coupon_redemptions.parquet"], None)
    assert (guess.mapping.user_id, guess.mapping.timestamp, guess.mapping.event_name) == (
        "household_id", "redemption_date", "coupon_redemption")


@pytest.mark.parametrize("path", [
    "bank_marketing/bank-additional-full.csv",
    "bank_marketing/bank-full.csv",
    "online_shoppers_intention/online_shoppers_intention.csv",
])
def test_users_files_without_an_id_get_generated_ids(path):
    guess = guess_mapping([], REAL / path)
    assert guess.mapping.generate_user_ids is True
    assert any("no id column" in n for n in guess.notes)


def test_oulad_student_id_with_a_reminder_about_composite_ids():
    guess = guess_mapping([], REAL / "oulad" / "studentInfo.csv")
    assert guess.mapping.users_user_id == "id_student"
    assert guess.mapping.generate_user_ids is False
    assert any("unique only together with other columns" in n for n in guess.notes)
    assert guess.columns["studentInfo.csv"][:3] == [
        "code_module", "code_presentation", "id_student"]


@pytest.mark.parametrize(("header", "expected"), [
    ("distinct_id,name,time,$browser", ("distinct_id", "name", "time")),
    ("visitor_id,action,ts", ("visitor_id", "action", "ts")),
    ("Customer ID,Event Name,Created At", ("Customer ID", "Event Name", "Created At")),
    ("user_id,event,timestamp", ("user_id", "event", "timestamp")),
    ("session,account_id,event_type,occurred_at", ("account_id", "event_type", "occurred_at")),
])
def test_common_export_headers(tmp_path, header, expected):
    path = write(tmp_path / "events.csv", header + "\n" + ",".join(
        "2024-01-01T00:00:00Z" if i == len(expected) - 1 else "x"
        for i in range(header.count(",") + 1)) + "\n")
    m = guess_mapping([path], None).mapping
    assert (m.user_id, m.event, m.timestamp) == expected


def test_time_found_by_type_when_the_name_is_unusual(tmp_path):
    path = write(tmp_path / "events.csv", "user_id,event,moment\nu,e,2024-01-01T10:00:00Z\n")
    assert guess_mapping([path], None).mapping.timestamp == "moment"


def test_users_id_follows_the_events_id(tmp_path):
    events = write(tmp_path / "events.csv", "case_id,activity,timestamp\n1,a,2024-01-01\n")
    users = write(tmp_path / "cases.csv", "user_id,case_id,amount\n9,1,100\n")
    guess = guess_mapping([events], users)
    assert guess.mapping.users_user_id == "case_id"


def test_reserved_names_are_announced(tmp_path):
    events = write(tmp_path / "events.csv",
                   "user_id,activity,ts,_uid\nu,a,2024-01-01,old\n")
    users = write(tmp_path / "users.csv", "account,user_id,plan\n1,u,pro\n")
    guess = guess_mapping([events], users)
    assert guess.mapping.event == "activity"
    assert guess.mapping.users_user_id == "user_id"
    assert any("'_uid' is stored as '_uid_original'" in n for n in guess.notes)
    guess = guess_mapping([], write(tmp_path / "u.csv", "account_id,user_id\n1,u\n"))
    assert guess.mapping.users_user_id == "user_id"


def test_mapping_round_trips_through_a_dict():
    mapping = ColumnMapping(user_id="a", users_id_columns=("x", "y"), event_name="buy",
                            generate_user_ids=False, csv_delimiter=";")
    data = mapping.to_dict()
    assert data["users_id_columns"] == ["x", "y"]
    assert ColumnMapping.from_dict(data) == mapping
    assert ColumnMapping(**data) == mapping


def test_unreadable_file_is_refused(tmp_path):
    with pytest.raises(ImportRefused) as caught:
        guess_mapping([write(tmp_path / "events.parquet", "not parquet")], None)
    assert caught.value.file == "events.parquet"
