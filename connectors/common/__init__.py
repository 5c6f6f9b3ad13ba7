"""What every chat connector shares: one event-dedupe store and one approver-notification policy."""
