"""The confirmation gate: action kinds, the responsibility list, the pending-action store, views."""
