"""Series: CSV tables, scaling and windows, baselines, the series task and the series commands."""
