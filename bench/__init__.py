"""The benchmark harness behind ``scripts/bench`` (issue 6): dataset, floor endpoints, load drivers and figures."""
