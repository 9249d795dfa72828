// The SafeTensors target; see ARCHITECTURE.md.
