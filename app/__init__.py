"""The Qt application: main window, panes, actions, settings, GUI entry point."""
