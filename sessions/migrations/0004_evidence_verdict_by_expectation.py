"""Findings' evidence of a test kept the verdict of the old reading ("the group succeeds
more often"); verdicts are now judged against the hypothesis' expectation (see
sessions/verdicts.py). Rewrite the kept verdict of each such snapshot, and keep the raw
direction beside it, as new snapshots do. A snapshot that has a "direction" already is
new and left alone, so the migration can run twice."""

from django.db import migrations

RAW_DIRECTION = {"supported": "more", "contradicted": "less"}


def judge_by_expectation(apps, schema_editor):
    Finding = apps.get_model("worksessions", "Finding")
    findings = (Finding.objects.filter(test__isnull=False, evidence__source="test")
                .select_related("test__hypothesis"))
    for finding in findings.iterator():
        numbers = (finding.evidence or {}).get("numbers")
        if not isinstance(numbers, dict) or "verdict" not in numbers or "direction" in numbers:
            continue
        went = RAW_DIRECTION.get(numbers["verdict"])
        numbers["direction"] = went
        expected = finding.test.hypothesis.expected_direction or "more"
        if went is not None:
            numbers["verdict"] = ("supported" if expected in ("different", went)
                                  else "contradicted")
        finding.save(update_fields=["evidence"])


class Migration(migrations.Migration):
    dependencies = [
        ("worksessions", "0003_expected_direction_different"),
    ]

    operations = [
        migrations.RunPython(judge_by_expectation, migrations.RunPython.noop),
    ]
