"""Time limits by category and level (seeded with the defaults of
layers.domain.time_limits.HAZARD_TIME_LIMITS), the calendar's exceptions (from the
chinesecalendar package) and hh_workdays(a, b), the SQL twin of layers.domain.workdays.between.
"""

from django.db import migrations, models

WORKDAYS = """
CREATE FUNCTION hh_workdays(a date, b date) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE
        sign(b - a)::integer * (
            SELECT count(*)::integer
            FROM generate_series(least(a, b) + 1, greatest(a, b), interval '1 day') AS g(d)
            LEFT JOIN layers_calendarday c ON c.day = g.d::date
            WHERE coalesce(c.workday, extract(isodow FROM g.d) < 6)
        ) END
$$;
"""


def seed(apps, schema_editor):
    from layers.domain.time_limits import HAZARD_TIME_LIMITS
    from layers.domain.workdays import exceptions

    TimeLimit = apps.get_model("layers", "TimeLimit")
    for (category, level), limits in HAZARD_TIME_LIMITS.items():
        dispatch, rectify, reinspect, accept, escalate = limits
        TimeLimit.objects.get_or_create(
            category=category,
            level=level,
            defaults=dict(
                dispatch_days=dispatch,
                rectify_days=rectify,
                reinspect_days=reinspect,
                accept_days=accept,
                escalate_days=escalate,
            ),
        )
    CalendarDay = apps.get_model("layers", "CalendarDay")
    CalendarDay.objects.bulk_create(
        [CalendarDay(day=d, workday=w, name=n) for d, w, n in exceptions()],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0010_service_clock"),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarDay",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False)),
                ("workday", models.BooleanField()),
                ("name", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "verbose_name": "节假日调休",
                "verbose_name_plural": "节假日调休",
                "ordering": ("day",),
            },
        ),
        migrations.AddField(
            model_name="historicalsafetyhazard",
            name="due_date",
            field=models.DateField(
                blank=True, editable=False, null=True, verbose_name="当前环节期限"
            ),
        ),
        migrations.AddField(
            model_name="historicalsafetyhazard",
            name="overdue_since",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="超期日期"),
        ),
        migrations.AddField(
            model_name="safetyhazard",
            name="due_date",
            field=models.DateField(
                blank=True, editable=False, null=True, verbose_name="当前环节期限"
            ),
        ),
        migrations.AddField(
            model_name="safetyhazard",
            name="overdue_since",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="超期日期"),
        ),
        migrations.CreateModel(
            name="TimeLimit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("structure", "房屋结构"),
                            ("fire_equipment", "消防设施"),
                            ("wiring", "电气线路 / 私拉乱接"),
                            ("gas", "燃气使用"),
                            ("escape_route", "生命通道"),
                            ("ebike", "电动自行车停放充电"),
                            ("group_rental", "群租房 / 出租屋"),
                            ("three_in_one", "三合一 / 三小场所"),
                        ],
                        max_length=32,
                        verbose_name="隐患类别",
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[("general", "一般隐患"), ("major", "重大隐患")],
                        max_length=16,
                        verbose_name="隐患等级",
                    ),
                ),
                (
                    "dispatch_days",
                    models.PositiveSmallIntegerField(
                        help_text="From the report (上报) to the dispatch (交办).",
                        verbose_name="派遣时限(工作日)",
                    ),
                ),
                (
                    "rectify_days",
                    models.PositiveSmallIntegerField(
                        help_text="From the dispatch to the rectification: the default 整改期限.",
                        verbose_name="整改时限(工作日)",
                    ),
                ),
                (
                    "reinspect_days",
                    models.PositiveSmallIntegerField(
                        help_text="From the recorded rectification to the re-inspection.",
                        verbose_name="复查时限(工作日)",
                    ),
                ),
                (
                    "accept_days",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="For public reports: from receipt to acceptance (受理); empty: not set.",
                        null=True,
                        verbose_name="受理时限(工作日)",
                    ),
                ),
                (
                    "escalate_days",
                    models.PositiveSmallIntegerField(
                        help_text="Working days past a limit after which the hazard is put under formal supervision (挂牌督办) by the reminder pass.",
                        verbose_name="督办时限(超期工作日)",
                    ),
                ),
            ],
            options={
                "verbose_name": "办理时限",
                "verbose_name_plural": "办理时限",
                "ordering": ("category", "level"),
                "constraints": [
                    models.UniqueConstraint(fields=("category", "level"), name="time_limit_unique"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("dispatch_days__gte", 1),
                            ("rectify_days__gte", 1),
                            ("escalate_days__gte", 1),
                            ("reinspect_days__gte", 1),
                        ),
                        name="time_limit_positive",
                    ),
                ],
            },
        ),
        migrations.RunSQL(WORKDAYS, "DROP FUNCTION hh_workdays(date, date)"),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
