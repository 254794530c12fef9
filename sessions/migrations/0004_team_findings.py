"""A finding belongs to its team, and to a session only once attached to one: findings
kept from the explorer outside a session wait as the team's (issue 11)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_teams(apps, schema_editor):
    Finding = apps.get_model("worksessions", "Finding")
    for finding in Finding.objects.filter(team__isnull=True).select_related("session"):
        finding.team_id = finding.session.team_id
        finding.save(update_fields=["team"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_membership_last_visit_invitation_revoked"),
        ("worksessions", "0003_timebox_and_dot_votes"),
    ]

    operations = [
        migrations.AddField(
            model_name="finding",
            name="team",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="findings", to="accounts.team"),
        ),
        migrations.RunPython(fill_teams, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="finding",
            name="team",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                    related_name="findings", to="accounts.team"),
        ),
        migrations.AlterField(
            model_name="finding",
            name="session",
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.CASCADE,
                                    related_name="findings", to="worksessions.workingsession"),
        ),
    ]
