"""The default time limits of the hazard loop (办理时限), in working days, by category and
level: what migration 0009 seeds into the TimeLimit table (editors change them in the admin;
docs/HAZARDS.md lists them) and what a missing row falls back to."""

# The defaults a data migration seeds into the TimeLimit table (editors change them in the
# admin; docs/HAZARDS.md explains them). Per (category, level):
# (dispatch after report, rectify after dispatch, re-inspect after rectification,
#  accept a public report, escalate to 挂牌督办 this many working days past a limit).
HAZARD_TIME_LIMITS_GENERAL = {
    "structure": (1, 15, 3, 1, 5),
    "fire_equipment": (1, 5, 3, 1, 5),
    "wiring": (1, 5, 3, 1, 5),
    "gas": (1, 3, 2, 1, 3),
    "escape_route": (1, 3, 2, 1, 3),
    "ebike": (1, 3, 2, 1, 3),
    "group_rental": (1, 10, 3, 1, 5),
    "three_in_one": (1, 10, 3, 1, 5),
}
HAZARD_TIME_LIMITS_MAJOR = {
    "structure": (1, 120, 5, 1, 10),
    "fire_equipment": (1, 30, 3, 1, 10),
    "wiring": (1, 30, 3, 1, 10),
    "gas": (1, 20, 3, 1, 5),
    "escape_route": (1, 20, 3, 1, 5),
    "ebike": (1, 20, 3, 1, 5),
    "group_rental": (1, 60, 5, 1, 10),
    "three_in_one": (1, 60, 5, 1, 10),
}
HAZARD_TIME_LIMITS = {
    (category, level): limits
    for level, table in (
        ("general", HAZARD_TIME_LIMITS_GENERAL),
        ("major", HAZARD_TIME_LIMITS_MAJOR),
    )
    for category, limits in table.items()
}
