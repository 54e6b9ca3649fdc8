"""The process: settings, configuration, wiring, the `yuqing` CLI and chat platform adapters."""
