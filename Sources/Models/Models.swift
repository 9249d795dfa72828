// The Models target; see ARCHITECTURE.md.
