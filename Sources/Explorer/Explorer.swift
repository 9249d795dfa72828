// The Explorer target; see ARCHITECTURE.md.
