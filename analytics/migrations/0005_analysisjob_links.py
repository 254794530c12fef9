# A job's session, dashboard and success definition: foreign keys instead of the ids
# that options held (filled from them by 0006).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0004_analysisjob_dashboard_kinds'),
        ('dashboards', '0001_initial'),
        ('worksessions', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='analysisjob',
            name='dashboard',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='dashboards.dashboard'),
        ),
        migrations.AddField(
            model_name='analysisjob',
            name='session',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='worksessions.workingsession'),
        ),
        migrations.AddField(
            model_name='analysisjob',
            name='success_definition',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='analytics.successdefinition'),
        ),
    ]
