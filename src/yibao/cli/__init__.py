"""The `yibao` command line. Each module registers its commands on the one app in `main`."""
