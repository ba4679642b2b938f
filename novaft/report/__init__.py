"""What a run learned, for people: training metrics, live progress and self-contained HTML reports (pure)."""
