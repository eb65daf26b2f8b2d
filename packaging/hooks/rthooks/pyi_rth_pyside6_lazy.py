# Rollout Studio's replacement of PyInstaller's PySide6 runtime hook (packaging/hooks/rthooks.dat wins
# over the built-in one). PyInstaller's imports PySide6.QtCore in *every* process of the bundle (to
# register an embedded qt.conf): each CLI command, encoder worker, job supervisor and wrapper would
# load Qt for nothing. This one only sets Qt's search paths (as PyInstaller's does) and leaves the
# qt.conf step to the GUI, which calls sys._rollout_studio_qt_conf() before it makes its QApplication.
import functools
import os
import sys

from _pyi_rth_utils import qt as _qt_rth_utils

_qt_prefix = os.path.join(sys._MEIPASS, "PySide6", "Qt")
os.environ["QT_PLUGIN_PATH"] = os.path.join(_qt_prefix, "plugins")
os.environ["QML2_IMPORT_PATH"] = os.path.join(_qt_prefix, "qml")
sys._rollout_studio_qt_conf = functools.partial(_qt_rth_utils.create_embedded_qt_conf, "PySide6", _qt_prefix)
