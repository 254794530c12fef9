from django.conf import settings


def test_embedded_default_runs_tasks_in_process_without_redis():
    if settings.REDIS_URL:
        assert settings.CELERY_BROKER_URL == settings.REDIS_URL
        assert not settings.CELERY_TASK_ALWAYS_EAGER
    else:
        assert settings.CELERY_TASK_ALWAYS_EAGER


def test_custom_user_model_signs_in_with_email():
    from accounts.models import User

    assert User.USERNAME_FIELD == "email"
