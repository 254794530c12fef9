"""The real files in ../shared/data/real/ import as they are, with a column mapping, and
the counts match the README's. (Read-only: slices are copied to tmp_path.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importer import ColumnMapping, ImportRefused, import_dataset
from analytics.engine.storage import DatasetVersion

# ../shared/data/real/ from the project's root; every checkout and CI run has it.
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


def query(sql: str, params: list | None = None) -> list[tuple]:
    return duck.connect().execute(sql, params or []).fetchall()


def run(tmp_path: Path, events: list[Path], users: Path | None, mapping: ColumnMapping):
    dest = tmp_path / "real" / "v1"
    schema = import_dataset(events=events, users=users, mapping=mapping, dest=dest)
    return schema, DatasetVersion(dest)


def test_bpic2012_full_event_log(tmp_path):
    schema, version = run(
        tmp_path, [REAL / "bpic2012_loan_applications" / "bpic2012_events.csv.gz"], None,
        ColumnMapping(user_id="case_id", event="activity", timestamp="timestamp"))
    # README: 262,200 events, 13,087 applications, 2,246 approved (17.2%).
    assert schema.n_events == 262_200
    assert schema.n_users == 13_087
    assert schema.events["A_APPROVED"] == 2_246
    approved = query("SELECT count(DISTINCT _uid) FROM read_parquet(?) "
                     "WHERE event = 'A_APPROVED'", [version.events_glob])[0][0]
    assert approved == 2_246 and round(approved / schema.n_users, 3) == 0.172
    assert schema.user_id_type == "integer"
    assert schema.event_properties == {"amount_req": "integer", "reg_date": "timestamp",
                                       "lifecycle": "text", "resource": "integer"}
    # ISO 8601 with offset (+02:00 in October 2011) stored in UTC.
    assert schema.data_start == "2011-09-30T22:38:44.546000+00:00"
    first = query("SELECT user_id, _first_seen FROM read_parquet(?) WHERE user_id = '173688'",
                  [str(version.users_path)])
    assert first[0][1].isoformat() == "2011-09-30T22:38:44.546000+00:00"


def test_completejourney_transactions_slice_with_demographics(tmp_path):
    source = REAL / "completejourney"
    sliced = tmp_path / "transactions.parquet"
    duck.connect().execute(
        "COPY (SELECT * FROM read_parquet(?) WHERE household_id <= 150) TO ? "
        "(FORMAT parquet)", [str(source / "transactions.parquet"), str(sliced)])
    schema, version = run(
        tmp_path, [sliced], source / "demographics.parquet",
        ColumnMapping(user_id="household_id", event_name="purchase",
                      timestamp="transaction_timestamp", users_user_id="household_id"))
    n_lines, households = query(
        "SELECT count(*), count(DISTINCT household_id) FROM read_parquet(?)", [str(sliced)])[0]
    population = query(
        "SELECT count(*) FROM (SELECT household_id FROM read_parquet(?) UNION "
        "SELECT household_id FROM read_parquet(?))",
        [str(sliced), str(source / "demographics.parquet")])[0][0]
    assert schema.n_events == n_lines and schema.events == {"purchase": n_lines}
    assert schema.n_users == population
    # README: demographics for 801 households.
    with_demographics = query("SELECT count(age), count(_first_seen) FROM read_parquet(?)",
                              [str(version.users_path)])[0]
    assert with_demographics == (801, households)
    assert schema.user_properties["income"] == "text"
    assert schema.event_properties["sales_value"] == "float"
    # Naive transaction times are UTC.
    assert schema.data_start.startswith("2017-01-01") and schema.data_start.endswith("+00:00")


@pytest.mark.parametrize(("name", "users", "subscribed"), [
    ("bank-additional-full.csv", 41_188, 4_640),
    ("bank-full.csv", 45_211, None),
])
def test_bank_marketing_users_only(tmp_path, name, users, subscribed):
    schema, version = run(tmp_path, [], REAL / "bank_marketing" / name,
                          ColumnMapping(generate_user_ids=True))
    assert schema.n_users == users and schema.n_events == 0
    assert schema.user_properties["y"] == "text"
    assert schema.user_properties["age"] == "integer"
    if subscribed is not None:
        yes = query("SELECT count(*) FROM read_parquet(?) WHERE y = 'yes'",
                    [str(version.users_path)])[0][0]
        # README: y = "yes" for 11.3%.
        assert yes == subscribed and round(yes / users, 3) == 0.113


def test_oulad_students_with_composite_id(tmp_path):
    schema, version = run(
        tmp_path, [], REAL / "oulad" / "studentInfo.csv",
        ColumnMapping(users_id_columns=("code_module", "code_presentation", "id_student")))
    assert schema.n_users == 32_593
    assert query("SELECT user_id FROM read_parquet(?) WHERE _uid = 1",
                 [str(version.users_path)]) == [("AAA/2013J/100893",)]
    assert schema.user_properties["final_result"] == "text"


def test_oulad_student_id_alone_is_not_unique(tmp_path):
    with pytest.raises(ImportRefused) as caught:
        run(tmp_path, [], REAL / "oulad" / "studentInfo.csv",
            ColumnMapping(users_user_id="id_student"))
    error = caught.value
    assert (error.file, error.line, error.column) == ("studentInfo.csv", 397, "id_student")
    assert "'65002' is repeated (lines 17 and 397)" in error.message
    assert not (tmp_path / "real").exists()


def test_online_shoppers_with_generated_ids(tmp_path):
    schema, version = run(
        tmp_path, [], REAL / "online_shoppers_intention" / "online_shoppers_intention.csv",
        ColumnMapping(generate_user_ids=True))
    assert schema.n_users == 12_330
    assert schema.user_properties["Revenue"] == "boolean"
    bought = query("SELECT count_if(Revenue) FROM read_parquet(?)",
                   [str(version.users_path)])[0][0]
    # README: Revenue = TRUE for 15.5%.
    assert round(bought / 12_330, 3) == 0.155
    assert query("SELECT min(_uid), max(_uid) FROM read_parquet(?)",
                 [str(version.users_path)]) == [(1, 12_330)]
