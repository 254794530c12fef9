from django.contrib import admin

from .models import (
    Dashboard,
    DashboardSegment,
    ReviewNote,
    TeamSegment,
    WeeklySnapshot,
)


class SegmentInline(admin.TabularInline):
    model = DashboardSegment
    extra = 0
    fields = ("position", "name", "group", "catalog_key", "team_segment")
    readonly_fields = ("catalog_key", "team_segment")


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "dataset", "success_definition", "confirmed_at")
    list_filter = ("team",)
    search_fields = ("name",)
    raw_id_fields = ("current_job",)
    inlines = [SegmentInline]


@admin.register(WeeklySnapshot)
class WeeklySnapshotAdmin(admin.ModelAdmin):
    list_display = ("dashboard", "week", "status", "digest_sent_at")
    list_filter = ("status",)
    raw_id_fields = ("job",)
    readonly_fields = ("result", "changes")


admin.site.register(TeamSegment)
admin.site.register(ReviewNote)
