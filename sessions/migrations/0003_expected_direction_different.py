# A hypothesis may expect users to succeed "different"ly (more or less often).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('worksessions', '0002_dashboardpin'),
    ]

    operations = [
        migrations.AlterField(
            model_name='hypothesis',
            name='expected_direction',
            field=models.CharField(blank=True, choices=[('more', 'succeed more often'), ('less', 'succeed less often'), ('different', 'succeed at a different rate (more or less)')], max_length=9),
        ),
    ]
