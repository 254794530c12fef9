# DashboardPin moves here from dashboards (dashboards 0003): sessions sits above dashboards.
# Only Django's state changes; the table keeps its name, dashboards_dashboardpin, and its
# rows. The content type follows, so admin history and permissions stay attached.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _move_content_type(apps, schema_editor, source, target):
    content_type = apps.get_model('contenttypes', 'ContentType')
    if not content_type.objects.filter(app_label=target, model='dashboardpin').exists():
        content_type.objects.filter(app_label=source, model='dashboardpin').update(
            app_label=target)


def forwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, 'dashboards', 'worksessions')


def backwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, 'worksessions', 'dashboards')


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('dashboards', '0003_pins_and_mappings_move_out'),
        ('worksessions', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DashboardPin',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('pinned_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('dashboard', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pins', to='dashboards.dashboard')),
                        ('finding', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='dashboard_pins', to='worksessions.finding')),
                        ('pinned_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'dashboards_dashboardpin',
                        'ordering': ['-pinned_at'],
                        'constraints': [models.UniqueConstraint(fields=('dashboard', 'finding'), name='pin_finding_once')],
                    },
                ),
            ],
            database_operations=[
                migrations.RunPython(forwards, backwards),
            ],
        ),
    ]
