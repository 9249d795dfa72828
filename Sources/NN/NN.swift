// The NN target; see ARCHITECTURE.md.
