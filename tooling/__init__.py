"""Local and deploy-time tooling: the runner of `make run` and the provisioning of the
migration Job. Apart from `shared/` (what every function image carries), so that the
library never imports from `functions/`; this package may."""
