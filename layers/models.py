"""Django finds an app's models in `<app>.models`; ours live in layers/domain/models/."""

from layers.domain.models import *  # noqa: F403
