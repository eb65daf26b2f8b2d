"""Exports for viewers: one or more episodes of any readable dataset as a Rerun recording (``rerun``)
or an MCAP file Foxglove opens (``mcap``); ``episodes`` reads what both write."""
