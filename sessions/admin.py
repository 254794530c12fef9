from django.contrib import admin

from .models import (
    DashboardPin,
    Discovery,
    Dot,
    DotVote,
    Finding,
    Hypothesis,
    HypothesisTest,
    NextStep,
    Participant,
    SessionEvent,
    WorkingSession,
)


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    raw_id_fields = ("user", "confirmed_definition")


@admin.register(WorkingSession)
class WorkingSessionAdmin(admin.ModelAdmin):
    list_display = ("title", "team", "step", "facilitator", "created_at", "closed_at")
    list_filter = ("step",)
    search_fields = ("title", "team__name", "team__slug")
    raw_id_fields = ("team", "dataset", "success_definition", "facilitator", "created_by")
    inlines = [ParticipantInline]


@admin.register(Hypothesis)
class HypothesisAdmin(admin.ModelAdmin):
    list_display = ("text", "session", "author", "kind", "rank", "expected_direction",
                    "confidence")
    list_filter = ("kind", "origin")
    search_fields = ("text", "session__title", "author__email")
    raw_id_fields = ("session", "author")


@admin.register(HypothesisTest)
class HypothesisTestAdmin(admin.ModelAdmin):
    list_display = ("hypothesis", "session", "job", "created_at")
    raw_id_fields = ("session", "hypothesis", "job", "success_definition", "created_by")


@admin.register(Discovery)
class DiscoveryAdmin(admin.ModelAdmin):
    list_display = ("session", "unsuccessful", "job", "created_at")
    raw_id_fields = ("session", "job", "success_definition", "created_by")


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("text", "team", "session", "author", "kind", "step", "created_at")
    list_filter = ("kind", "step")
    search_fields = ("text", "session__title")
    raw_id_fields = ("team", "session", "author", "test")


@admin.register(NextStep)
class NextStepAdmin(admin.ModelAdmin):
    list_display = ("text", "session", "owner", "kind", "due_date", "done_at")
    list_filter = ("kind",)
    search_fields = ("text", "session__title")
    raw_id_fields = ("session", "owner", "created_by", "done_by", "done_in")


@admin.register(SessionEvent)
class SessionEventAdmin(admin.ModelAdmin):
    list_display = ("session", "kind", "actor", "at")
    list_filter = ("kind",)
    raw_id_fields = ("session", "actor")


admin.site.register(DashboardPin)


class DotInline(admin.TabularInline):
    model = Dot
    extra = 0
    raw_id_fields = ("voter", "hypothesis")


@admin.register(DotVote)
class DotVoteAdmin(admin.ModelAdmin):
    list_display = ("session", "dots_per_member", "opened_at", "closed_at")
    raw_id_fields = ("session", "opened_by", "closed_by")
    inlines = [DotInline]


@admin.register(Dot)
class DotAdmin(admin.ModelAdmin):
    list_display = ("vote", "voter", "hypothesis", "slot", "placed_at")
    raw_id_fields = ("vote", "voter", "hypothesis")
