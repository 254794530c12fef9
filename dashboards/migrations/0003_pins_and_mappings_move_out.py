# DashboardPin moved to sessions (worksessions 0002) and DatasetMapping to segments
# (segments 0001). Only Django's state changes: both tables keep their names and rows.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dashboards', '0002_mapping_guessed_with_values'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='DashboardPin'),
                migrations.DeleteModel(name='DatasetMapping'),
            ],
            database_operations=[],
        ),
    ]
