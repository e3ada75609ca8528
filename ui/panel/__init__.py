"""The panel: `controller` (no Qt) holds the shot being edited; the widget modules render and forward."""
