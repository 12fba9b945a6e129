"""The engine: one trainer for every kind of data, its events and the views that show them."""
