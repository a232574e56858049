"""The retail sample business behind ``dataops generate`` (see :mod:`tooling.sample.generate`)."""
