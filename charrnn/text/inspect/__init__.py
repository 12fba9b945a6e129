"""Looking inside a text model (`charrnn inspect`): per-character surprise, next-character
guesses, single units, and the units that track features of the text.

No typer here: `charrnn/text/inspect_command.py` parses the options and calls the pass and the
renderers through this package, which gathers their names in one place. The work is split by
what it owns: naming a unit (units), the text features and their correlations (features), the
layer-by-layer stack (layer_stack), the one pass over the shown text (pass_over_text), its
result (inspection), and the views: shared colours and summaries (view_parts), the terminal
(terminal), the HTML page (html_page) and JSON (json_view).
"""
from charrnn.text.inspect.features import (FEATURES, Correlations, FeatureMatch, check_feature,
                                           strongest_units, text_features)
from charrnn.text.inspect.html_page import HTML_TOP, render_html
from charrnn.text.inspect.inspection import Inspection
from charrnn.text.inspect.json_view import to_json
from charrnn.text.inspect.layer_stack import LayerStack
from charrnn.text.inspect.pass_over_text import (CHUNK, DEFAULT_CHARS, DEFAULT_TOP_CHARS,
                                                 SLIDING_BATCH_STEPS, inspect_with_auto_unit,
                                                 read_shown_text, run_inspection)
from charrnn.text.inspect.terminal import render_terminal
from charrnn.text.inspect.units import UnitRef, parse_unit, unit_states
from charrnn.text.inspect.view_parts import (LOSS_SCALE, UNKNOWN_BG, UNKNOWN_FG, char_label,
                                             char_rgb, find_rows, loss_rgb, summary_lines,
                                             unit_rgb, unit_scale)

__all__ = [
    "CHUNK", "DEFAULT_CHARS", "DEFAULT_TOP_CHARS", "FEATURES", "HTML_TOP", "LOSS_SCALE",
    "SLIDING_BATCH_STEPS", "UNKNOWN_BG", "UNKNOWN_FG", "Correlations", "FeatureMatch",
    "Inspection", "LayerStack", "UnitRef", "char_label", "char_rgb", "check_feature",
    "find_rows", "inspect_with_auto_unit", "loss_rgb", "parse_unit", "read_shown_text",
    "render_html", "render_terminal", "run_inspection", "strongest_units", "summary_lines",
    "text_features", "to_json", "unit_rgb", "unit_scale", "unit_states",
]
