"""Request and response models of the public HTTP API, shared by functions and gateway."""
