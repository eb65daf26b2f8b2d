"""Wizards that panes list and host: each family is ``(key, title, factory(context, parent) -> QWidget)``.

``app.wizards.cosmos_idm.WIZARD_FAMILIES``: Cosmos-Predict 2.5 training sets and batch files, the
IDM input dataset from Cosmos outputs, and the IDM embodiment kit.
"""
