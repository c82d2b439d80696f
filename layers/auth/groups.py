"""Role groups and their model permissions, derived from the registry's edit_roles."""

from __future__ import annotations

from layers.domain.roles import ALL_ROLES, EDITOR


def sync_roles(**kwargs) -> None:
    """Create the role groups and grant view/add/change/delete as the registry says.

    Runs after every migrate; idempotent. Every role may view every layer; a role may add,
    change and delete (soft) a layer if the spec lists it in edit_roles.
    """
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from layers.domain import registry

    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES}
    for spec in registry.LAYERS:
        content_type = ContentType.objects.get_for_model(spec.model)
        model_name = spec.model._meta.model_name
        perms = {
            p.codename: p
            for p in Permission.objects.filter(content_type=content_type)
            if p.codename.endswith(f"_{model_name}")
        }
        for role, group in groups.items():
            wanted = {f"view_{model_name}"}
            if role in spec.edit_roles:
                wanted |= {f"add_{model_name}", f"change_{model_name}", f"delete_{model_name}"}
            group.permissions.add(*(perms[c] for c in wanted if c in perms))
            group.permissions.remove(*(p for c, p in perms.items() if c not in wanted))
    # Editors keep the time limits of the hazard loop (办理时限); every role may read them.
    limits = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="layers")
        if p.codename.endswith(("_timelimit", "_webhookendpoint", "_webhookdelivery"))
    }
    groups[EDITOR].permissions.add(*limits.values())
    for role, group in groups.items():
        if role != EDITOR and "view_timelimit" in limits:  # receivers are editors' only
            group.permissions.add(limits["view_timelimit"])
    # Editors read the public reports in the admin, for the record (their timelines, photos and
    # contacts; the admin's own checks add `roles.can_read_report_contacts`); nothing is
    # written there but a hide, which the reports service checks (docs/REPORTS.md).
    records = Permission.objects.filter(
        content_type__app_label="layers",
        codename__in=(
            "view_publicreport",
            "view_reportevent",
            "view_reportphoto",
            "view_reportcontact",
        ),
    )
    groups[EDITOR].permissions.add(*records)
    # Editors see and lift sign-in lockouts in the admin (django-axes' access attempts:
    # deleting one unlocks that user or address).
    lockouts = Permission.objects.filter(
        content_type__app_label="axes",
        codename__in=("view_accessattempt", "delete_accessattempt", "view_accessfailurelog"),
    )
    groups[EDITOR].permissions.add(*lockouts)
