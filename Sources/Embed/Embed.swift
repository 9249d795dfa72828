// The Embed target; see ARCHITECTURE.md.
