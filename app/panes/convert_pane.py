"""The Convert pane's old import path: the pane lives in ``app.panes.convert`` now."""

from app.panes.convert.hdf5_to_lerobot import RECORDED_RATE
from app.panes.convert.pane import FAMILIES, ConvertPane
from app.panes.convert.wizard import ConversionWizard
from backend.sessions.convert import call_run as _call_run
from backend.sessions.convert import parse_numbers

__all__ = ["FAMILIES", "RECORDED_RATE", "ConversionWizard", "ConvertPane", "_call_run", "parse_numbers"]
