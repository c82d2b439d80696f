"""Time limits of the hazard loop (办理时限), as data editors keep in the admin, and the
working-day calendar's exceptions that SQL counts with (layers/domain/workdays.py)."""

from __future__ import annotations

from django.contrib.gis.db import models

from layers.domain import vocabularies as status
from layers.domain.language import both, lang


class TimeLimit(models.Model):
    """The limits of one category and level, in working days (docs/HAZARDS.md lists the
    defaults a data migration seeds)."""

    category = models.CharField("隐患类别", max_length=32, choices=status.HAZARD_CATEGORY.choices)
    level = models.CharField("隐患等级", max_length=16, choices=status.HAZARD_LEVEL.choices)
    dispatch_days = models.PositiveSmallIntegerField(
        "派遣时限(工作日)", help_text="From the report (上报) to the dispatch (交办)."
    )
    rectify_days = models.PositiveSmallIntegerField(
        "整改时限(工作日)",
        help_text="From the dispatch to the rectification: the default 整改期限.",
    )
    reinspect_days = models.PositiveSmallIntegerField(
        "复查时限(工作日)", help_text="From the recorded rectification to the re-inspection."
    )
    accept_days = models.PositiveSmallIntegerField(
        "受理时限(工作日)",
        null=True,
        blank=True,
        help_text="For public reports: from receipt to acceptance (受理); empty: not set.",
    )
    escalate_days = models.PositiveSmallIntegerField(
        "督办时限(超期工作日)",
        help_text="Working days past a limit after which the hazard is put under formal "
        "supervision (挂牌督办) by the reminder pass.",
    )

    class Meta:
        verbose_name = both("办理时限", "Time limit")
        verbose_name_plural = both("办理时限", "Time limits")
        ordering = ("category", "level")
        constraints = [
            models.UniqueConstraint(fields=["category", "level"], name="time_limit_unique"),
            models.CheckConstraint(
                condition=models.Q(dispatch_days__gte=1, rectify_days__gte=1)
                & models.Q(reinspect_days__gte=1, escalate_days__gte=1),
                name="time_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{status.HAZARD_CATEGORY.label(self.category, lang())} · "
            f"{status.HAZARD_LEVEL.label(self.level, lang())}"
        )


class CalendarDay(models.Model):
    """A day that differs from the weekend rule: a holiday on a weekday or a make-up workday
    on a weekend. Written from the calendar package (workdays.sync); not edited by hand."""

    day = models.DateField(primary_key=True)
    workday = models.BooleanField()
    name = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = both("节假日调休", "Holiday or make-up workday")
        verbose_name_plural = both("节假日调休", "Holidays and make-up workdays")
        ordering = ("day",)
