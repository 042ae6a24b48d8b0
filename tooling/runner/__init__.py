"""The local runner: the whole system on one machine, wired from the cluster's manifests."""
