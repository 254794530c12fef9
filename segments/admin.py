from django.contrib import admin

from .models import DatasetMapping


@admin.register(DatasetMapping)
class DatasetMappingAdmin(admin.ModelAdmin):
    list_display = ("dataset", "confirmed_at", "confirmed_by")
    raw_id_fields = ("profile_job",)
