"""The confirmation gate: action kinds (kinds/), the responsibility list, the pending-action store, views."""
