"""charrnn: recurrent networks on characters and time series, from the command line."""

__version__ = "0.1.0"
