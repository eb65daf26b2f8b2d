"""The window's wizards, all on one framework (``app.wizards.base.StepWizard`` over a Qt-free
``backend.sessions.wizard.WizardSession``): inputs -> options with a live preview -> run -> done.

``app.wizards.cosmos_idm.WIZARD_FAMILIES`` lists the Cosmos-Predict 2.5 training sets and batch files,
the IDM input dataset from Cosmos outputs, and the IDM embodiment kit (each ``(key, title,
factory(context, parent) -> QWidget)``); the Convert pane (``app.panes.convert``) hosts them beside
its conversions.
"""
