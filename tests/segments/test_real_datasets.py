"""Which catalog segments each real dataset supports, with the mapping guessed from its
names and values (slices of ../shared/data/real imported as they are)."""

import gzip
from pathlib import Path

import pytest

from analytics.engine import duck, trends
from analytics.engine.importer import ColumnMapping, import_dataset
from analytics.engine.storage import DatasetVersion
from segments import catalog
from segments import roles as mapping

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not REAL.exists(), reason=f"no real data at {REAL}")


def every_nth_line(source: Path, target: Path, step: int, *, gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(source, "rt", encoding="utf-8") as inp, open(target, "w",
                                                              encoding="utf-8") as out:
        for number, line in enumerate(inp):
            if number == 0 or number % step == 0:
                out.write(line)
    return target


def first_lines(source: Path, target: Path, count: int, *, gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(source, "rt", encoding="utf-8") as inp, open(target, "w",
                                                              encoding="utf-8") as out:
        for number, line in enumerate(inp):
            if number > count:
                break
            out.write(line)
    return target


def guessed(tmp: Path, name: str, events: list[Path], users: Path | None,
            column_mapping: ColumnMapping):
    version = DatasetVersion(tmp / name / "v1")
    import_dataset(events=events, users=users, mapping=column_mapping, dest=version.path)
    schema = version.schema()
    roles = mapping.roles_from_guesses(mapping.guess_mapping(schema,
                                                             trends.dataset_profile(version)))
    supported = {r.key for r in catalog.resolve_all(roles, schema) if r.supported}
    return roles, supported, version


def code(ref):
    return None if not ref else f"{ref['scope']}:{ref['name']}"


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("real")


def test_bank_marketing(tmp):
    users = every_nth_line(REAL / "bank_marketing" / "bank-additional-full.csv",
                           tmp / "bank.csv", 15)
    roles, supported, _ = guessed(tmp, "bank", [], users,
                                  ColumnMapping(generate_user_ids=True))
    assert supported == {"finserv.returning", "demo.age", "demo.education", "tech.mobile"}
    assert code(roles["prior_count"]) == "user:previous"
    assert code(roles["device"]) == "user:contact" and roles["mobile_values"] == ["cellular"]
    assert roles["gender"] is None and roles["location"] is None


def test_oulad(tmp):
    users = every_nth_line(REAL / "oulad" / "studentInfo.csv", tmp / "students.csv", 12)
    roles, supported, _ = guessed(tmp, "oulad", [], users, ColumnMapping(
        users_id_columns=("code_module", "code_presentation", "id_student")))
    assert supported == {"finserv.returning", "demo.age", "demo.gender", "demo.education",
                         "demo.location"}
    assert code(roles["age"]) == "user:age_band"
    assert code(roles["education"]) == "user:highest_education"
    assert code(roles["location"]) == "user:region"
    assert code(roles["prior_count"]) == "user:num_of_prev_attempts"


def test_online_shoppers(tmp):
    users = every_nth_line(REAL / "online_shoppers_intention" / "online_shoppers_intention.csv",
                           tmp / "shoppers.csv", 5)
    roles, supported, _ = guessed(tmp, "shoppers", [], users,
                                  ColumnMapping(generate_user_ids=True))
    assert supported == {"ecomm.first_time", "finserv.returning", "demo.location"}
    assert code(roles["visitor_type"]) == "user:VisitorType"
    # operating systems are numbered, not named: mobile users cannot be told apart
    mobile = catalog.resolve("tech.mobile", roles)
    assert not mobile.supported and "OperatingSystems" in mobile.explanation


def test_bpic2012_loan_applications(tmp):
    events = first_lines(REAL / "bpic2012_loan_applications" / "bpic2012_events.csv.gz",
                         tmp / "bpic.csv", 10_000, gz=True)
    roles, supported, _ = guessed(tmp, "bpic", [events], None,
                                  ColumnMapping(user_id="case_id", event="activity"))
    assert supported == {"saas.time_in_app", "ecomm.first_time", "finserv.stage"}
    assert roles["stage_events"][:2] in (["A_PARTLYSUBMITTED", "A_SUBMITTED"],
                                         ["A_SUBMITTED", "A_PARTLYSUBMITTED"])
    assert not {"A_DECLINED", "A_CANCELLED"} & set(roles["stage_events"])
    assert roles["signup_event"] is None and roles["login_event"] is None


def test_bpic2012_with_its_cases_table(tmp):
    events = first_lines(REAL / "bpic2012_loan_applications" / "bpic2012_events.csv.gz",
                         tmp / "bpic-events.csv", 10_000, gz=True)
    cases = first_lines(REAL / "bpic2012_loan_applications" / "bpic2012_cases_derived.csv",
                        tmp / "bpic-cases.csv", 800)
    roles, supported, _ = guessed(tmp, "bpic-cases", [events], cases, ColumnMapping(
        user_id="case_id", event="activity", users_user_id="case_id"))
    assert code(roles["application_stage"]) == "user:final_stage"
    assert roles["device"] is None  # A_CANCELLED is not a cellphone
    assert "finserv.stage" in supported and "tech.mobile" not in supported


def test_completejourney(tmp):
    transactions = tmp / "transactions.parquet"
    con = duck.connect(threads=1)
    try:
        source = str(REAL / "completejourney" / "transactions.parquet")
        con.execute("COPY (SELECT * FROM read_parquet(?) WHERE household_id <= 150) "
                    "TO '" + str(transactions) + "' (FORMAT parquet)", [source])
    finally:
        con.close()
    roles, supported, _ = guessed(
        tmp, "cj", [transactions], REAL / "completejourney" / "demographics.parquet",
        ColumnMapping(user_id="household_id", timestamp="transaction_timestamp",
                      event_name="purchase", users_user_id="household_id"))
    assert supported == {"saas.time_in_app", "ecomm.aov", "ecomm.first_time", "ecomm.repeat",
                         "finserv.returning", "demo.age"}
    assert roles["order_event"] == "purchase"
    assert code(roles["order_value"]) == "event:sales_value"
    assert code(roles["order_id"]) == "event:basket_id"
    assert roles["ownership"] is None  # home_ownership is a household's, not a company's
    assert roles["company_size"] is None  # nor is household_size


def test_the_demo_product(tmp):
    from analytics.engine.demo_data import write_demo_files

    folder = tmp / "demo-files"
    folder.mkdir()
    events, users = write_demo_files(folder, n_users=300)
    roles, supported, version = guessed(tmp, "demo", [events], users, ColumnMapping())
    every = {entry.key for entry in catalog.CATALOG}
    assert every - supported == {"finserv.stage", "finserv.policies"}
    # and the engine runs all of them at once on it
    segments = [r.segment for r in catalog.resolve_all(roles, version.schema()) if r.supported]
    result = trends.success_trends(version, {"events": ["subscribe"], "within_days": 14},
                                   segments)
    assert len(result["segments"]) == len(segments) == len(every) - 2
