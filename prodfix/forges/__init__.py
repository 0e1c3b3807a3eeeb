"""Code forges prodfix opens pull requests on: one small interface (base.Forge), one file each."""
