from django.contrib import admin

from .models import DatasetMapping, MappingChange


@admin.register(DatasetMapping)
class DatasetMappingAdmin(admin.ModelAdmin):
    list_display = ("dataset", "confirmed_at", "confirmed_by")
    raw_id_fields = ("profile_job",)


@admin.register(MappingChange)
class MappingChangeAdmin(admin.ModelAdmin):
    list_display = ("mapping", "action", "changed_by", "at")
    raw_id_fields = ("mapping",)
