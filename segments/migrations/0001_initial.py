# DatasetMapping moves here from dashboards (dashboards 0003). Only Django's state changes;
# the table keeps its name, dashboards_datasetmapping, and its rows. The content type
# follows, so admin history and permissions stay attached.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _move_content_type(apps, schema_editor, source, target):
    content_type = apps.get_model('contenttypes', 'ContentType')
    if not content_type.objects.filter(app_label=target, model='datasetmapping').exists():
        content_type.objects.filter(app_label=source, model='datasetmapping').update(
            app_label=target)


def forwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, 'dashboards', 'segments')


def backwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, 'segments', 'dashboards')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('analytics', '0004_analysisjob_dashboard_kinds'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('dashboards', '0003_pins_and_mappings_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DatasetMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('roles', models.JSONField(blank=True, default=dict)),
                        ('guesses', models.JSONField(blank=True, default=dict)),
                        ('guessed_version', models.PositiveIntegerField(blank=True, null=True)),
                        ('guessed_with_values', models.BooleanField(default=False)),
                        ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('confirmed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('dataset', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='segment_mapping', to='analytics.dataset')),
                        ('profile_job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='analytics.analysisjob')),
                    ],
                    options={
                        'db_table': 'dashboards_datasetmapping',
                    },
                ),
            ],
            database_operations=[
                migrations.RunPython(forwards, backwards),
            ],
        ),
    ]
