"""The Cosmos-Predict 2.5 and GR00T-Dreams IDM wizards the Convert pane lists (pipeline steps 4, 7,
10 and 12), each ``(key, title, factory(context, parent) -> QWidget)``. They live in
``app.wizards.cosmos``, ``app.wizards.idm`` and ``app.wizards.idm_kit``, on the one wizard of
``app.wizards.base``; this module keeps their list (and the old import path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from app.wizards.cosmos import CosmosBatchWizard, CosmosTrainsetWizard
from app.wizards.idm import IdmPrepareWizard
from app.wizards.idm_kit import IdmKitWizard

WIZARD_FAMILIES: list[tuple[str, str, Callable[[Any, QWidget | None], QWidget]]] = [
    (CosmosTrainsetWizard.key, CosmosTrainsetWizard.title, CosmosTrainsetWizard),
    (CosmosBatchWizard.key, CosmosBatchWizard.title, CosmosBatchWizard),
    (IdmPrepareWizard.key, IdmPrepareWizard.title, IdmPrepareWizard),
    (IdmKitWizard.key, IdmKitWizard.title, IdmKitWizard),
]

__all__ = [
    "WIZARD_FAMILIES",
    "CosmosBatchWizard",
    "CosmosTrainsetWizard",
    "IdmKitWizard",
    "IdmPrepareWizard",
]
