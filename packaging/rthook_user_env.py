# PyInstaller runtime hook of the bundle, run before every other one (custom hooks come first): keep
# the environment the user started the bundle with, before PyInstaller's own hooks set Qt's paths
# (QT_PLUGIN_PATH, QML2_IMPORT_PATH, ...) for the bundle alone. backend.children.user_env gives it
# back to users' programs (local jobs), so the bundle's Qt never leaks into, say, Isaac Sim.
import os
import sys

sys._rollout_studio_start_env = dict(os.environ)
