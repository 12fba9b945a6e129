"""Text: corpora, vocabulary, windows, the text task, scoring, sampling and the text commands."""
