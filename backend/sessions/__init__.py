"""Qt-free state of each pane: what it shows and what the user chose; panes forward to these."""
