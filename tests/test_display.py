from io import StringIO

from rich.console import Console

from charrnn.engine.views import JsonLines, LiveView, PlainLines, training_views
from charrnn.engine.events import CheckpointSaved, EpochEnd, Progress, TrainEnd, TrainStart

START = TrainStart(kind="text", name="hihello", facts=["7 chars", "vocab 5", "seq 6"],
                   parameters=100, device="cpu", precision="fp32", epochs=50,
                   windows_per_epoch=1, batch_size=1)
EPOCH = EpochEnd(epoch=3, step=3, train_loss=1.25, val_loss=None, best_loss=1.25, is_best=True,
                 speed=1234.0, predictions=[("hihell", "ihello"), ("a\nb", "b\nc")],
                 sample="hello there")


def test_live_view_renders_loss_and_predicted_strings():
    console = Console(file=StringIO(), force_terminal=True, width=140, color_system=None)
    view = LiveView(console)
    view(START)
    view(Progress(epoch=2, step=3, window=1, windows_per_epoch=1, train_loss=1.3,
                  speed=900.0, elapsed=2.0, fraction_done=0.06))
    view(EPOCH)
    view(CheckpointSaved("checkpoints/hihello/best.safetensors", "best"))
    console.print(view.render())
    view(TrainEnd("b", "l", 1.25, "epochs"))
    screen = console.file.getvalue()
    assert "hihell -> ihello" in screen
    assert "a⏎b -> b⏎c" in screen  # newlines stay visible on one line
    assert "loss 1.3000" in screen and "1.2500 (1.803 bpc)" in screen
    assert "ETA" in screen and "hello there" in screen


def test_plain_lines_when_not_a_terminal():
    stream = StringIO()
    view = PlainLines(stream)
    view(START)
    view(EPOCH)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "epoch 3/50" in lines[1] and "hihell -> ihello" in lines[1]


def test_json_lines_and_view_choice():
    stream = StringIO()
    JsonLines(stream)(EPOCH)
    assert '"predicted": "ihello"' in stream.getvalue()
    quiet = training_views(json_out=True, quiet=True)
    assert [type(v) for v in quiet] == [JsonLines]
    piped = training_views(False, False, Console(file=StringIO()))
    assert [type(v) for v in piped] == [PlainLines]


def test_live_view_at_80_columns_splits_no_figure():
    import re

    view = LiveView(Console(width=80, force_terminal=True, color_system=None, file=StringIO()))
    start = TrainStart(kind="text", name="tinyshakespeare.txt",
                       facts=["1,115,394 chars", "vocab 65", "seq 100"], parameters=3_312_961,
                       device="cpu", precision="bf16", epochs=1_000_000, windows_per_epoch=313,
                       batch_size=32, start_step=0, time_budget=600.0)
    view(start)
    view(Progress(epoch=4, step=1_234, window=297, windows_per_epoch=313, train_loss=1.3456,
                  speed=17_734.5, elapsed=123.4, fraction_done=0.2057))
    view(EpochEnd(epoch=4, step=1_252, train_loss=1.2345, val_loss=1.4567, best_loss=1.4567,
                  is_best=True, speed=17_734.5, elapsed=125.0, epochs_done=4.0,
                  predictions=[("First Citizen:\nBefore we proceed any further, hear me speak.",
                                "irst Citizen:\nBefore we proceed any further, hear me speak.\n")],
                  sample="ROMEO:\nWhat light through yonder window breaks?"))
    screen_console = Console(record=True, width=80, color_system=None, file=StringIO())
    screen_console.print(view.render())  # the frame the live view draws
    view.close()
    screen = screen_console.export_text()
    lines = screen.splitlines()
    assert max(len(line) for line in lines) <= 80
    for figure in ("1,115,394", "3,312,961", "17,734", "1,252", "1.2345", "1.4567", "20.6%"):
        assert any(figure in line for line in lines), figure  # whole, on one line
    assert "ETA" in screen and re.search(r"ETA \d+:\d\d", screen)  # past the first seconds
