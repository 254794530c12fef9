from django.contrib import admin

from .models import AnalysisJob, Dataset, DatasetImport, SuccessDefinition


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "current_version", "is_demo", "created_at")
    list_filter = ("is_demo",)
    search_fields = ("name", "team__name")


@admin.register(DatasetImport)
class DatasetImportAdmin(admin.ModelAdmin):
    list_display = ("dataset", "kind", "version", "status", "attempts", "created_at")
    list_filter = ("status", "kind")


@admin.register(AnalysisJob)
class AnalysisJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "team", "dataset", "kind", "status", "attempts", "created_at")
    list_filter = ("status", "kind")


@admin.register(SuccessDefinition)
class SuccessDefinitionAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "version", "is_current", "created_at")
    list_filter = ("is_current",)
    search_fields = ("name", "description")
