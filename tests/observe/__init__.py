"""Traces, spans, the run log and the trace page."""
