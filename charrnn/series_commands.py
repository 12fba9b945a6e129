"""Series commands (train-series, forecast, series eval): being built, see issue 4."""
from charrnn.errors import CharrnnError


def register(app) -> None:
    return None


def evaluate(ckpt, data, json_out, device_name, all_rows, season, plot) -> None:
    raise CharrnnError("series checkpoints are not supported by this build yet")
