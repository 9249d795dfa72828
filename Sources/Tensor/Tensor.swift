// The Tensor target; see ARCHITECTURE.md.
